package dev.tandem.device.gpu.opencl;

import dev.tandem.runtime.device.DeviceEvent;
import org.lwjgl.system.MemoryStack;

import java.nio.IntBuffer;
import java.nio.LongBuffer;

import static dev.tandem.device.gpu.opencl.OpenClException.check;
import static org.lwjgl.opencl.CL10.*;

/**
 * A marker in the device's queue. DeviceEvent has no close(), so the cl_event is released as soon
 * as its end time is known: when it is first timed, when the device sweeps finished markers, or
 * when the device closes. The timestamp outlives the handle.
 */
final class OpenClEvent implements DeviceEvent {
    private final OpenClDevice device;
    private long event;
    private long endNanos = -1;

    OpenClEvent(OpenClDevice device, long event) {
        this.device = device;
        this.event = event;
    }

    @Override
    public long nanosSince(DeviceEvent earlier) {
        if (!(earlier instanceof OpenClEvent other) || other.device != device) {
            throw new IllegalArgumentException("events come from different devices");
        }
        return endNanos() - other.endNanos();
    }

    synchronized long endNanos() {
        if (endNanos < 0) {
            if (event == 0) throw new IllegalStateException(device.spec().name() + " closed before this event was timed");
            check(clWaitForEvents(event), "clWaitForEvents");
            resolve();
        }
        return endNanos;
    }

    /** Reads the end time and releases the handle if the marker has finished; true when it had. */
    synchronized boolean resolveIfComplete() {
        if (event == 0) return true;
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer status = stack.mallocInt(1);
            check(clGetEventInfo(event, CL_EVENT_COMMAND_EXECUTION_STATUS, status, null), "clGetEventInfo");
            if (status.get(0) != CL_COMPLETE) return false;
        }
        resolve();
        return true;
    }

    private void resolve() {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            LongBuffer end = stack.mallocLong(1);
            check(clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_END, end, null), "clGetEventProfilingInfo");
            endNanos = end.get(0);
        }
        release();
    }

    /** Drops the handle without timing it (the device is closing). */
    synchronized void release() {
        if (event != 0) {
            clReleaseEvent(event);
            event = 0;
        }
    }
}
