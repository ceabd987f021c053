package dev.tandem.runtime.device.cpu;

import dev.tandem.kernels.KernelConfig;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.device.DeviceKind;
import dev.tandem.runtime.device.DeviceSpec;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.EnumMap;
import java.util.Map;

/**
 * The host's spec. Bandwidth is measured once (an F32 matvec over 64 MiB, the same kernel decode
 * uses, so it is the bandwidth decode can actually get); peak FLOP/s is an estimate from the vector
 * width and thread count; power and link figures are estimates a user can override with
 * -Dtandem.cpu.watts and -Dtandem.cpu.bandwidth (bytes/s).
 */
final class HostSpec {
    private static volatile DeviceSpec spec;

    private HostSpec() {}

    static DeviceSpec get() {
        DeviceSpec s = spec;
        if (s == null) {
            synchronized (HostSpec.class) {
                if (spec == null) {
                    spec = measure();
                }
                s = spec;
            }
        }
        return s;
    }

    private static DeviceSpec measure() {
        int threads = KernelConfig.threads();
        int lanes = Math.max(1, KernelConfig.vectorBits() / 32);
        double clockHz = 2.5e9; // estimate: /proc/cpuinfo MHz is unreliable in VMs
        double fmaPeak = threads * lanes * 2.0 * 2 * clockHz; // 2 FMA ports, 2 FLOPs per FMA
        Map<WeightFormat, Double> peak = new EnumMap<>(WeightFormat.class);
        for (WeightFormat f : WeightFormat.values()) {
            peak.put(f, fmaPeak);
        }
        double bandwidth = Double.parseDouble(System.getProperty("tandem.cpu.bandwidth", "0"));
        if (bandwidth <= 0) {
            bandwidth = measureMatvecBandwidth();
        }
        double watts = Double.parseDouble(System.getProperty("tandem.cpu.watts", "" + 10.0 * threads));
        long memory = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getTotalMemorySize();
        Map<DeviceKind, DeviceSpec.Link> links = Map.of(
                DeviceKind.GPU, new DeviceSpec.Link(25e9, 10e-6),   // PCIe 4.0 x16, estimate
                DeviceKind.LPU, new DeviceSpec.Link(12.5e9, 5e-6),  // 100 GbE, estimate
                DeviceKind.CPU, new DeviceSpec.Link(12.5e9, 5e-6));
        String name = System.getProperty("os.arch") + " host (" + threads + " threads, " + KernelConfig.vectorBits() + "-bit vectors)";
        return new DeviceSpec(name, DeviceKind.CPU, memory, bandwidth, peak, watts, 2e-6, links);
    }

    private static double measureMatvecBandwidth() {
        int rows = 4096, cols = 4096; // 64 MiB of F32
        try (Arena arena = Arena.ofShared()) {
            MemorySegment data = arena.allocate((long) rows * cols * Float.BYTES, 64);
            for (long i = 0; i < (long) rows * cols; i += 1024) {
                data.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, 1f);
            }
            WeightMatrix w = WeightMatrix.of(WeightFormat.F32, data, rows, cols);
            float[] x = new float[cols], out = new float[rows];
            long best = Long.MAX_VALUE;
            for (int i = 0; i < 8; i++) {
                long t0 = System.nanoTime();
                w.matvec(x, 0, out, 0);
                best = Math.min(best, System.nanoTime() - t0);
            }
            return w.byteSize() * 1e9 / best;
        }
    }
}
