package dev.tandem.device.gpu.opencl;

import dev.tandem.runtime.device.DeviceBuffer;

/** F32 memory in one cl_mem. Released by close() or when its device closes, whichever is first. */
final class OpenClBuffer extends OpenClMemory implements DeviceBuffer {
    private final long floats;

    OpenClBuffer(OpenClDevice device, long mem, long floats) {
        super(device, mem, floats * Float.BYTES);
        this.floats = floats;
    }

    @Override
    public long length() { return floats; }

    @Override
    public String toString() { return "OpenClBuffer[" + floats + " floats]"; }
}
