package dev.tandem.runtime.compiler;

/** Where a pool's device comes from: it decides whether a plan on it can run or only predict. */
public enum DeviceSource {
    /** A backend found through ServiceLoader on this machine (cpu, opencl, cuda). */
    PRESENT,
    /** An LPU preset the emulator runs (groqchip1, lp30). */
    EMULATED_LPU,
    /** A catalog GPU (DESIGN.md §7): plans only. */
    CATALOG
}
