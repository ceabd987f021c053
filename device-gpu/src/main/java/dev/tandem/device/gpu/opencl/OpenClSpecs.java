package dev.tandem.device.gpu.opencl;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceKind;
import dev.tandem.runtime.device.DeviceSpec;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;

import java.nio.LongBuffer;
import java.util.EnumMap;
import java.util.Map;

import static dev.tandem.device.gpu.opencl.OpenClException.check;
import static org.lwjgl.opencl.CL10.*;

/**
 * Builds a device's {@link DeviceSpec} when it opens. Bandwidth, launch overhead and the host
 * link are MEASURED here (about 50 ms on PoCL); peak FLOP/s and board power are ESTIMATES,
 * because OpenCL reports neither.
 */
final class OpenClSpecs {
    /** Big enough to leave caches behind on CPUs, small enough to take milliseconds. */
    private static final long COPY_BYTES = 32L << 20;
    private static final int LAUNCHES = 20;
    /**
     * FP32 lanes per compute unit on GPUs (AMD GCN/RDNA: 64; NVIDIA since Ampere: 128 per SM).
     * OpenCL's preferred vector width is 1 on GPUs, so it cannot tell us; 64 underestimates NVIDIA.
     */
    private static final int GPU_LANES_PER_COMPUTE_UNIT = 64;
    /** Estimates: OpenCL has no power query. A loaded server core draws roughly 10 W; a discrete GPU 250 W. */
    private static final double WATTS_PER_CPU_COMPUTE_UNIT = 10;
    private static final double GPU_BOARD_WATTS = 250;

    private OpenClSpecs() {}

    static DeviceSpec measure(OpenClDevice device, long id, boolean gpu) {
        String name = OpenClInfo.deviceString(id, CL_DEVICE_NAME);
        long memory = OpenClInfo.deviceLong(id, CL_DEVICE_GLOBAL_MEM_SIZE);
        long copyBytes = Math.min(COPY_BYTES, OpenClInfo.deviceLong(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE) / 4);
        double bandwidth = copyBandwidth(device, copyBytes);
        double launchOverhead = launchOverhead(device);
        DeviceSpec.Link hostLink = hostLink(device, copyBytes);

        int computeUnits = OpenClInfo.deviceInt(id, CL_DEVICE_MAX_COMPUTE_UNITS);
        double clockHz = OpenClInfo.deviceInt(id, CL_DEVICE_MAX_CLOCK_FREQUENCY) * 1e6;
        int lanes = gpu ? GPU_LANES_PER_COMPUTE_UNIT
                : Math.max(1, OpenClInfo.deviceInt(id, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT));
        double peak = computeUnits * clockHz * lanes * 2;  // one FMA per lane per cycle, counted as 2 FLOPs
        Map<WeightFormat, Double> peakFlops = new EnumMap<>(WeightFormat.class);
        // All formats accumulate in F32 on the same lanes; dequantisation cost is not modelled.
        for (WeightFormat format : WeightFormat.values()) peakFlops.put(format, peak);

        double watts = gpu ? GPU_BOARD_WATTS : WATTS_PER_CPU_COMPUTE_UNIT * computeUnits;
        return new DeviceSpec(name, gpu ? DeviceKind.GPU : DeviceKind.CPU, memory, bandwidth, peakFlops, watts,
                launchOverhead, Map.of(DeviceKind.CPU, hostLink));
    }

    /** Device-to-device copy: bytes read plus bytes written per second, best of three timed copies. */
    private static double copyBandwidth(OpenClDevice device, long bytes) {
        DeviceBuffer from = device.allocate(bytes / Float.BYTES);
        DeviceBuffer to = device.allocate(bytes / Float.BYTES);
        try (MemoryStack stack = MemoryStack.stackPush()) {
            device.copy(from, 0, to, 0, bytes / Float.BYTES);  // first touch allocates the pages
            long best = Long.MAX_VALUE;
            PointerBuffer event = stack.mallocPointer(1);
            LongBuffer start = stack.mallocLong(1);
            LongBuffer end = stack.mallocLong(1);
            for (int i = 0; i < 3; i++) {
                check(clEnqueueCopyBuffer(device.queue(), ((OpenClBuffer) from).mem, ((OpenClBuffer) to).mem, 0, 0, bytes,
                        null, event), "clEnqueueCopyBuffer");
                try {
                    check(clWaitForEvents(event.get(0)), "clWaitForEvents");
                    check(clGetEventProfilingInfo(event.get(0), CL_PROFILING_COMMAND_START, start, null), "clGetEventProfilingInfo");
                    check(clGetEventProfilingInfo(event.get(0), CL_PROFILING_COMMAND_END, end, null), "clGetEventProfilingInfo");
                } finally {
                    clReleaseEvent(event.get(0));
                }
                best = Math.min(best, Math.max(1, end.get(0) - start.get(0)));
            }
            return 2.0 * bytes / (best * 1e-9);
        } finally {
            from.close();
            to.close();
        }
    }

    /** Host wall time to enqueue a one-element kernel and see it finish, averaged after warm-up. */
    private static double launchOverhead(OpenClDevice device) {
        DeviceBuffer a = device.allocate(1);
        DeviceBuffer b = device.allocate(1);
        try {
            for (int i = 0; i < 3; i++) {  // the first launches compile the kernel for its work-group size
                device.add(a, b, 1);
                device.synchronize();
            }
            long start = System.nanoTime();
            for (int i = 0; i < LAUNCHES; i++) {
                device.add(a, b, 1);
                device.synchronize();
            }
            return (System.nanoTime() - start) * 1e-9 / LAUNCHES;
        } finally {
            a.close();
            b.close();
        }
    }

    /** Host-to-device: bandwidth of one large blocking write, latency of a one-float blocking write. */
    private static DeviceSpec.Link hostLink(OpenClDevice device, long bytes) {
        int floats = (int) Math.min(Integer.MAX_VALUE - 8, bytes / Float.BYTES);
        DeviceBuffer buffer = device.allocate(floats);
        try {
            float[] host = new float[floats];
            device.write(buffer, 0, host, 0, floats);  // warm-up: first touch
            long start = System.nanoTime();
            device.write(buffer, 0, host, 0, floats);
            double bandwidth = (double) floats * Float.BYTES / Math.max(1e-9, (System.nanoTime() - start) * 1e-9);
            start = System.nanoTime();
            for (int i = 0; i < LAUNCHES; i++) device.write(buffer, 0, host, 0, 1);
            double latency = (System.nanoTime() - start) * 1e-9 / LAUNCHES;
            return new DeviceSpec.Link(bandwidth, latency);
        } finally {
            buffer.close();
        }
    }
}
