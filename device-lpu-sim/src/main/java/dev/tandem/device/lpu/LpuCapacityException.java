package dev.tandem.device.lpu;

import dev.tandem.runtime.device.DeviceMemoryException;

/** A model (or an allocation) that does not fit in the SRAM of the given chips; says how many would do. */
public final class LpuCapacityException extends DeviceMemoryException {
    private final int chipsGiven;
    private final int chipsNeeded;

    public LpuCapacityException(String what, ChipConfig config, int chipsGiven, int chipsNeeded,
                                long requestedBytes, long availableBytes) {
        super(what + " does not fit in the SRAM of " + chipsGiven + " " + config.name() + " chip"
                + (chipsGiven == 1 ? "" : "s") + "; it needs " + chipsNeeded + " chips", requestedBytes, availableBytes);
        this.chipsGiven = chipsGiven;
        this.chipsNeeded = chipsNeeded;
    }

    public int chipsGiven() { return chipsGiven; }

    public int chipsNeeded() { return chipsNeeded; }
}
