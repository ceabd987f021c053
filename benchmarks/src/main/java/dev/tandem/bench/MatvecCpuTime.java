package dev.tandem.bench;

import dev.tandem.kernels.Parallel;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.SplittableRandom;

/**
 * The kernels' compute cost per 256 weights at batch 1: one thread's CPU time (not wall time) over
 * repeated matvecs of a matrix small enough to stay in cache, best of 15 rounds. On a shared machine
 * (load 5-10 from other builds) wall-clock JMH scores moved 2x between runs; the CPU time a thread
 * spends is far steadier, which is what comparing two builds of a kernel needs. The checksum printed
 * with it lets two builds be checked for identical results.
 * {@code java --add-modules jdk.incubator.vector -XX:CompileCommandFile=scripts/kernels.compile-commands
 * -Dtandem.coldWork=0 -cp benchmarks/target/benchmarks.jar dev.tandem.bench.MatvecCpuTime Q6_K 768 2000 50}
 * (format, columns, rows, matvecs per round).
 */
public final class MatvecCpuTime {
    private MatvecCpuTime() {}

    public static void main(String[] args) {
        WeightFormat format = WeightFormat.valueOf(args[0]);
        int cols = Integer.parseInt(args[1]), rows = Integer.parseInt(args[2]), reps = Integer.parseInt(args[3]);
        Parallel.setThreads(1);
        try (Arena arena = Arena.ofConfined()) {
            WeightMatrix m = MatvecBenchmark.randomMatrix(arena, format, rows, cols, new SplittableRandom(42));
            SplittableRandom r = new SplittableRandom(7);
            float[] x = new float[cols], out = new float[rows];
            for (int i = 0; i < cols; i++) {
                x[i] = (float) r.nextGaussian();
            }
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            double best = Double.MAX_VALUE, checksum = 0;
            long superBlocks = (long) rows * cols / 256;
            for (int round = 0; round < 15; round++) {
                long t0 = threads.getCurrentThreadCpuTime();
                for (int i = 0; i < reps; i++) {
                    m.matvec(x, 0, out, 0);
                }
                long t1 = threads.getCurrentThreadCpuTime();
                checksum += out[0] + out[rows - 1];
                best = Math.min(best, (double) (t1 - t0) / reps / superBlocks);
            }
            System.out.printf("%s %d x %d: %.2f ns CPU per 256 weights (best of 15), checksum %s%n", format, rows, cols, best, checksum);
        }
    }
}
