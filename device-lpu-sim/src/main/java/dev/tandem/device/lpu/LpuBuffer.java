package dev.tandem.device.lpu;

import dev.tandem.runtime.device.DeviceBuffer;

/** An activation buffer in chip 0's SRAM. */
final class LpuBuffer implements DeviceBuffer {
    private final ChipMemory memory;
    final Allocation allocation;
    private boolean freed;

    LpuBuffer(ChipMemory memory, Allocation allocation) {
        this.memory = memory;
        this.allocation = allocation;
    }

    static LpuBuffer of(DeviceBuffer b) { return (LpuBuffer) b; }

    long offset() { return allocation.offset(); }

    @Override
    public long length() { return allocation.bytes() / 4; }

    @Override
    public void close() {
        if (!freed) {
            freed = true;
            memory.release(allocation);
        }
    }
}
