package dev.tandem.device.gpu.cuda;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceEvent;
import dev.tandem.runtime.device.DeviceKind;
import dev.tandem.runtime.device.DeviceSpec;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;

import java.util.EnumMap;
import java.util.Map;

/**
 * Builds a device's {@link DeviceSpec} when it opens. Memory, SM count and clock are QUERIED;
 * device-to-device bandwidth, launch overhead and the host link are MEASURED (tens of milliseconds);
 * peak FLOP/s and board power are ESTIMATES (the driver API reports neither).
 */
final class CudaSpecs {
    /** Well past the L2 of any current GPU (50 MB on H100/H200), so the copy runs from HBM. */
    private static final long COPY_BYTES = 256L << 20;
    private static final long HOST_BYTES = 32L << 20;
    private static final int LAUNCHES = 20;
    /** Estimate: a datacenter board's power limit (H100/H200 SXM: 700 W); NVML would know, the driver API does not. */
    private static final double BOARD_WATTS = 700;

    /** Estimate where the driver no longer reports a clock: a datacenter GPU's boost clock (H100/H200: 1.98 GHz). */
    private static final int FALLBACK_CLOCK_KHZ = 1_980_000;

    private CudaSpecs() {}

    static DeviceSpec measure(CudaDevice device, CUdevice id, String name) {
        int sms = CudaInfo.multiprocessors(id);
        int cc = CudaInfo.computeCapability(id);
        long memory = CudaInfo.totalMemory(id);
        double clockHz = CudaInfo.attributeOr(id, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_CLOCK_RATE, FALLBACK_CLOCK_KHZ) * 1e3;
        double bandwidth = copyBandwidth(device, Math.min(COPY_BYTES, memory / 16));
        double launchOverhead = launchOverhead(device);
        DeviceSpec.Link hostLink = hostLink(device);
        double peak = sms * clockHz * fp32LanesPerSm(cc) * 2;  // one FMA per lane per cycle, counted as 2 FLOPs
        Map<WeightFormat, Double> peakFlops = new EnumMap<>(WeightFormat.class);
        // Every kernel accumulates in F32 on the CUDA cores (no tensor cores yet); dequantization is not modelled.
        for (WeightFormat format : WeightFormat.values()) peakFlops.put(format, peak);
        String described = name + " (" + sms + " SMs, compute " + cc / 10 + "." + cc % 10 + ")";
        return new DeviceSpec(described, DeviceKind.GPU, memory, bandwidth, peakFlops, BOARD_WATTS, launchOverhead,
                Map.of(DeviceKind.CPU, hostLink), clockHz);
    }

    /** FP32 lanes per SM: 64 on Volta, Turing and A100 (8.0), 128 on GA10x, Ada and Hopper. */
    static int fp32LanesPerSm(int computeCapability) {
        return computeCapability < 86 && computeCapability != 90 ? 64 : 128;
    }

    /** Device-to-device copy: bytes read plus bytes written per second, best of three, timed by events. */
    private static double copyBandwidth(CudaDevice device, long bytes) {
        long floats = bytes / Float.BYTES;
        DeviceBuffer from = device.allocate(floats);
        DeviceBuffer to = device.allocate(floats);
        try {
            device.copy(from, 0, to, 0, floats);  // warm-up
            long best = Long.MAX_VALUE;
            for (int i = 0; i < 3; i++) {
                DeviceEvent start = device.record();
                device.copy(from, 0, to, 0, floats);
                DeviceEvent end = device.record();
                best = Math.min(best, Math.max(1, end.nanosSince(start)));
            }
            return 2.0 * floats * Float.BYTES / (best * 1e-9);
        } finally {
            from.close();
            to.close();
        }
    }

    /** Host wall time to launch a one-element kernel and see it finish, averaged after warm-up. */
    private static double launchOverhead(CudaDevice device) {
        DeviceBuffer a = device.allocate(1);
        DeviceBuffer b = device.allocate(1);
        try {
            for (int i = 0; i < 3; i++) {
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

    /** Host-to-device through the pinned staging buffers: one large write's bandwidth, a one-float write's latency. */
    private static DeviceSpec.Link hostLink(CudaDevice device) {
        int floats = (int) (HOST_BYTES / Float.BYTES);
        DeviceBuffer buffer = device.allocate(floats);
        try {
            float[] host = new float[floats];
            device.write(buffer, 0, host, 0, floats);  // warm-up
            device.synchronize();
            long start = System.nanoTime();
            device.write(buffer, 0, host, 0, floats);
            device.synchronize();
            double bandwidth = (double) floats * Float.BYTES / Math.max(1e-9, (System.nanoTime() - start) * 1e-9);
            start = System.nanoTime();
            for (int i = 0; i < LAUNCHES; i++) {
                device.write(buffer, 0, host, 0, 1);
                device.synchronize();
            }
            double latency = (System.nanoTime() - start) * 1e-9 / LAUNCHES;
            return new DeviceSpec.Link(bandwidth, latency);
        } finally {
            buffer.close();
        }
    }
}
