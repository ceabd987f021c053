package dev.tandem.bench;

import dev.tandem.kernels.KernelConfig;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.format.GgmlType;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.OptionsBuilder;

import java.util.Collection;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Runs the suite in one JMH run and prints docs/benchmarks.md's tables: each result next to the
 * ceiling measured in the same run (read bandwidth, FMA peak).
 *
 * Usage: java --add-modules jdk.incubator.vector -cp benchmarks/target/benchmarks.jar dev.tandem.bench.Report [REGEX]
 */
public final class Report {
    private Report() {}

    public static void main(String[] args) throws RunnerException {
        String include = args.length > 0 ? args[0] : "dev.tandem.bench.*Benchmark.*";
        Collection<RunResult> results = new Runner(new OptionsBuilder().include(include).build()).run();
        Map<String, Double> ms = new HashMap<>();
        Map<String, Double> mean = new java.util.TreeMap<>();
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark().replaceFirst(".*\\.", "");
            String cls = r.getParams().getBenchmark().replaceFirst("\\.[^.]+$", "").replaceFirst(".*\\.", "");
            // Key: Class.method then each parameter as :name=value, in name order.
            StringBuilder key = new StringBuilder(cls + "." + name);
            for (String p : new java.util.TreeSet<>(r.getParams().getParamsKeys())) {
                key.append(':').append(p).append('=').append(r.getParams().getParam(p));
            }
            // The best iteration: this machine's memory bandwidth swings by a third between seconds
            // (shared host), so ceilings and kernels are both compared at their best.
            double best = Double.MAX_VALUE;
            for (var br : r.getBenchmarkResults()) {
                for (var it : br.getIterationResults()) {
                    best = Math.min(best, it.getPrimaryResult().getScore());
                }
            }
            ms.put(key.toString(), best);
            mean.put(key.toString(), r.getPrimaryResult().getScore());
        }
        print(ms);
        System.out.println();
        System.out.println("| benchmark | best ms/op | mean ms/op |");
        System.out.println("|---|---|---|");
        mean.forEach((k, v) -> System.out.printf(Locale.ROOT, "| %s | %.3f | %.3f |%n", k, ms.get(k), v));
    }

    private static void print(Map<String, Double> ms) {
        Double readMs = ms.get("MemoryBandwidthBenchmark.readAll");
        Double fmaMs = ms.get("FmaPeakBenchmark.fmaAllCores");
        double bandwidth = readMs == null ? Double.NaN : MemoryBandwidthBenchmark.BYTES / (readMs / 1e3);
        double fma = fmaMs == null ? Double.NaN : FmaPeakBenchmark.flopsPerOp() / (fmaMs / 1e3);
        Double mulAddMs = ms.get("Int8DotPeakBenchmark.mulAdd16AllCores");
        Double blockDotMs = ms.get("Int8DotPeakBenchmark.blockDotAllCores");
        double mulAdd16 = mulAddMs == null ? Double.NaN : Int8DotPeakBenchmark.mulAdd16MacsPerOp() / (mulAddMs / 1e3);
        double blockDot = blockDotMs == null ? Double.NaN : Int8DotPeakBenchmark.blockDotMacsPerOp() / (blockDotMs / 1e3);
        System.out.printf(Locale.ROOT, "%nMachine: %d threads, %d-bit vectors, Java %s%n%n",
                KernelConfig.threads(), KernelConfig.vectorBits(), Runtime.version());
        System.out.println("| ceiling | result |");
        System.out.println("|---|---|");
        System.out.printf(Locale.ROOT, "| read bandwidth (512 MiB, 4 streams per core, all cores) | %.1f GB/s |%n", bandwidth / 1e9);
        System.out.printf(Locale.ROOT, "| FMA peak (F32, all cores) | %.1f GFLOP/s |%n", fma / 1e9);
        System.out.printf(Locale.ROOT, "| int8 peak: 16-bit multiply + add (all cores) | %.1f G MAC/s |%n", mulAdd16 / 1e9);
        System.out.printf(Locale.ROOT, "| int8 peak: the integer-dot block step (all cores) | %.1f G MAC/s |%n%n", blockDot / 1e9);

        System.out.println("| matvec | weights | time | bandwidth | of ceiling |");
        System.out.println("|---|---|---|---|---|");
        for (WeightFormat f : WeightFormat.values()) {
            Double t = ms.get("MatvecBenchmark.matvec:cols=4096:format=" + f + ":mib=256");
            if (t != null) {
                long bytes = MatvecBenchmark.weightBytes(f);
                double bw = bytes / (t / 1e3);
                System.out.printf(Locale.ROOT, "| %s %dx%d | %.1f MiB | %.2f ms | %.1f GB/s | %.0f%% |%n", f,
                        MatvecBenchmark.rows(f), MatvecBenchmark.COLS, bytes / 1048576.0, t, bw / 1e9, 100 * bw / bandwidth);
            }
        }
        System.out.println();
        System.out.println("| matvec through the device SPI | weights | time | bandwidth | of CPU read ceiling |");
        System.out.println("|---|---|---|---|---|");
        for (String device : new String[] {"cpu", "opencl"}) {
            for (WeightFormat f : WeightFormat.values()) {
                Double t = ms.get("DeviceMatvecBenchmark.matvec:device=" + device + ":format=" + f);
                if (t != null) {
                    long bytes = MatvecBenchmark.weightBytes(f);
                    double bw = bytes / (t / 1e3);
                    System.out.printf(Locale.ROOT, "| %s %s | %.1f MiB | %.2f ms | %.1f GB/s | %.0f%% |%n", device, f,
                            bytes / 1048576.0, t, bw / 1e9, 100 * bw / bandwidth);
                }
            }
        }
        System.out.println();
        System.out.println("| decode, stories110M shape | bytes/token | time/token | floor | time / floor | tokens/s |");
        System.out.println("|---|---|---|---|---|---|");
        for (GgmlType type : new GgmlType[] {GgmlType.F32, GgmlType.Q8_0, GgmlType.Q4_0}) {
            Double t = ms.get("DecodeBenchmark.decodeStep:type=" + type);
            if (t != null) {
                try (Model m = Stories110M.load(type)) {
                    long bytes = Stories110M.decodeBytes(m, DecodeBenchmark.POSITIONS / 2);
                    double floorMs = bytes / bandwidth * 1e3;
                    System.out.printf(Locale.ROOT, "| %s | %.1f MiB | %.2f ms | %.2f ms | %.2f× | %.1f |%n", type,
                            bytes / 1048576.0, t, floorMs, t / floorMs, 1e3 / t);
                }
            }
        }
        Double lpu = ms.get("LpuDecodeBenchmark.emulatedDecodeStep");
        Double cpuQ8 = ms.get("DecodeBenchmark.decodeStep:type=Q8_0");
        if (lpu != null) {
            System.out.println();
            System.out.println("| LPU emulator | time | vs CPU decode step |");
            System.out.println("|---|---|---|");
            System.out.printf(Locale.ROOT, "| full mode, stories110M shape Q8_0, one decode step | %.2f ms | %s |%n", lpu,
                    cpuQ8 == null ? "n/a" : String.format(Locale.ROOT, "%.2f×", lpu / cpuQ8));
        }
        Double t70 = ms.get("Lpu70bTimingBenchmark.lowerValidateRun70b");
        if (t70 != null) {
            System.out.printf(Locale.ROOT, "| timing-only, 70B shape on 656 groqchip1, place+lower+validate+run (best of 4 single shots) | %.0f ms | — |%n", t70);
        }
        Double compile = ms.get("CompileBenchmark.compile70bOn576ChipsAnd8Gpus");
        if (compile != null) {
            System.out.println();
            System.out.printf(Locale.ROOT, "| compile llama-2-70b int8 on groqchip1*576,h100*8, auto (best of 4 single shots) | %.0f ms |%n", compile);
        }
        System.out.println();
        System.out.println("| prefill 256 tokens, stories110M shape | FLOPs | time | GFLOP/s | of FMA peak | of int8 block-dot peak | tokens/s |");
        System.out.println("|---|---|---|---|---|---|---|");
        for (GgmlType type : new GgmlType[] {GgmlType.F32, GgmlType.Q8_0, GgmlType.Q4_0}) {
            Double t = ms.get("PrefillBenchmark.prefill256:type=" + type);
            if (t != null) {
                double flops = Stories110M.prefillFlops(Stories110M.CONFIG, PrefillBenchmark.TOKENS);
                double rate = flops / (t / 1e3);
                // MACs = FLOPs / 2 (the attention's are float, a few percent of the total).
                System.out.printf(Locale.ROOT, "| %s | %.1f G | %.1f ms | %.1f | %.0f%% | %.0f%% | %.0f |%n", type, flops / 1e9, t,
                        rate / 1e9, 100 * rate / fma, 100 * rate / 2 / blockDot, PrefillBenchmark.TOKENS / (t / 1e3));
            }
        }
    }
}
