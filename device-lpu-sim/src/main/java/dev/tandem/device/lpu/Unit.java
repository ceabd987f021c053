package dev.tandem.device.lpu;

/** The functional units of a chip. Each runs one instruction at a time, for that instruction's occupancy. */
public enum Unit {
    /** SRAM slices: reads and writes of activations, and weight streaming into the MXM. */
    MEM,
    /** Matrix unit: vector-matrix products against its installed weights, and attention. */
    MXM,
    /** Vector unit: elementwise arithmetic. */
    VXM,
    /** Switch unit: shifts, permutes, transposes and reductions across vectors. */
    SXM,
    /** Chip-to-chip links: sends and receives. */
    C2C
}
