package dev.tandem.runtime.compiler;

import java.util.List;

/** Bytes each device holds, per group: what the plan placed there against what a device has. */
public record MemoryPlan(List<Entry> groups) {
    public MemoryPlan {
        groups = List.copyOf(groups);
    }

    /**
     * @param group           the pool entry
     * @param devicesUsed     devices the plan uses (tensor parallel × stages)
     * @param tensorParallel  devices per stage
     * @param stages          pipeline stages (contiguous layer ranges)
     * @param weightBytes     weights held over all its devices
     * @param kvBytes         KV cache held over all its devices
     * @param activationBytes scratch per stage, summed
     * @param bytesPerDevice  the largest share one device holds
     * @param capacityBytes   what one device has
     */
    public record Entry(String group, int devicesUsed, int tensorParallel, int stages, long weightBytes, long kvBytes,
                        long activationBytes, long bytesPerDevice, long capacityBytes) {}
}
