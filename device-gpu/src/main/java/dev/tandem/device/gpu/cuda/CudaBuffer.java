package dev.tandem.device.gpu.cuda;

import dev.tandem.runtime.device.DeviceBuffer;
import jcuda.driver.CUdeviceptr;

/** F32 memory in one device allocation. Freed by close() or when its device closes, whichever is first. */
final class CudaBuffer extends CudaMemory implements DeviceBuffer {
    private final long floats;

    CudaBuffer(CudaDevice device, CUdeviceptr ptr, long floats) {
        super(device, ptr, floats * Float.BYTES);
        this.floats = floats;
    }

    @Override
    public long length() { return floats; }

    /** The address of float index. */
    CUdeviceptr at(long index) { return index == 0 ? ptr : ptr.withByteOffset(index * Float.BYTES); }

    @Override
    public String toString() { return "CudaBuffer[" + floats + " floats]"; }
}
