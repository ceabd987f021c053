package dev.tandem.device.gpu.cuda;

import jcuda.driver.CUdeviceptr;

/**
 * One cuMemAlloc of this device. Liveness is tracked per object, not per address, because the
 * driver hands a freed address out again: a stale buffer must not alias a new one.
 */
abstract sealed class CudaMemory permits CudaBuffer, CudaWeights {
    final CudaDevice device;
    final CUdeviceptr ptr;
    final long bytes;

    CudaMemory(CudaDevice device, CUdeviceptr ptr, long bytes) {
        this.device = device;
        this.ptr = ptr;
        this.bytes = bytes;
    }

    /** Frees the memory; a no-op when already freed or the device is closed. */
    public void close() { device.release(this); }
}
