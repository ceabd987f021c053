package dev.tandem.device.gpu.opencl;

/**
 * One cl_mem this device created. Liveness is tracked per object, not per handle, because a
 * driver may hand a released handle's value out again: a stale buffer must not alias a new one.
 */
abstract sealed class OpenClMemory permits OpenClBuffer, OpenClWeights {
    final OpenClDevice device;
    final long mem;
    final long bytes;

    OpenClMemory(OpenClDevice device, long mem, long bytes) {
        this.device = device;
        this.mem = mem;
        this.bytes = bytes;
    }

    /** Releases the cl_mem; a no-op when already released or the device is closed. */
    public void close() { device.release(this); }
}
