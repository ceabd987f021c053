package dev.tandem.device.gpu.cuda;

import dev.tandem.runtime.device.DeviceEvent;
import jcuda.driver.CUevent;

import static dev.tandem.device.gpu.cuda.CudaException.check;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventQuery;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;

/**
 * A CUDA event recorded on the device's stream. DeviceEvent has no close(), so the device sweeps
 * finished events: a swept event keeps its time as an offset from the device's first event and
 * frees its handle. Two live events are timed against each other directly (cuEventElapsedTime,
 * about half a microsecond resolution); a swept one through the offsets.
 */
final class CudaEvent implements DeviceEvent {
    private final CudaDevice device;
    private CUevent event;
    private long offsetNanos = -1;

    CudaEvent(CudaDevice device, CUevent event) {
        this.device = device;
        this.event = event;
    }

    @Override
    public long nanosSince(DeviceEvent earlier) {
        if (!(earlier instanceof CudaEvent other) || other.device != device) {
            throw new IllegalArgumentException("events come from different devices");
        }
        if (other == this) return 0;
        synchronized (device) {
            device.bind();
            if (event != null && other.event != null) {
                check(cuEventSynchronize(event), "cuEventSynchronize");
                check(cuEventSynchronize(other.event), "cuEventSynchronize");
                return elapsedNanos(other.event, event);
            }
            return offsetNanos() - other.offsetNanos();
        }
    }

    /** Nanoseconds from the device's epoch event to this one; called with the device locked and bound. */
    private long offsetNanos() {
        if (offsetNanos < 0) {
            if (event == null) throw new IllegalStateException(device + " closed before this event was timed");
            check(cuEventSynchronize(event), "cuEventSynchronize");
            offsetNanos = elapsedNanos(device.epoch(), event);
        }
        return offsetNanos;
    }

    private static long elapsedNanos(CUevent from, CUevent to) {
        float[] ms = new float[1];
        check(cuEventElapsedTime(ms, from, to), "cuEventElapsedTime");
        return Math.round(ms[0] * 1e6);
    }

    /** Keeps the offset and frees the handle if the event has passed; true when it had. Device locked and bound. */
    boolean sweepIfComplete() {
        if (event == null) return true;
        if (cuEventQuery(event) != jcuda.driver.CUresult.CUDA_SUCCESS) return false;
        offsetNanos();
        release();
        return true;
    }

    /** Frees the handle without timing it (the device is closing). */
    void release() {
        if (event != null) {
            cuEventDestroy(event);
            event = null;
        }
    }
}
