package dev.tandem.bench;

import dev.tandem.kernels.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

import java.util.concurrent.TimeUnit;

/**
 * The compute ceiling: independent FMA chains in vector registers on every core. One op performs
 * {@link #flopsPerOp()} floating-point operations (an FMA counts 2).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 10, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xms2g", "-Xmx8g"})
public class FmaPeakBenchmark {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int ITERATIONS = 1 << 20;
    /** Enough independent accumulators to cover FMA latency x issue width. */
    static final int CHAINS = 12;

    private final float[] partial = new float[64];

    public static double flopsPerOp() {
        return (double) Parallel.threads() * ITERATIONS * CHAINS * S.length() * 2;
    }

    @Benchmark
    public float fmaAllCores() {
        int threads = Parallel.threads();
        Parallel.forRange(threads, 1, (start, end) -> {
            for (int t = start; t < end; t++) {
                partial[t] = chains(t);
            }
        });
        float total = 0;
        for (int t = 0; t < threads; t++) {
            total += partial[t];
        }
        return total;
    }

    private static float chains(int seed) {
        FloatVector m = FloatVector.broadcast(S, 0.999f), b = FloatVector.broadcast(S, 1e-3f);
        FloatVector a0 = FloatVector.broadcast(S, seed), a1 = a0.add(1), a2 = a0.add(2), a3 = a0.add(3),
                a4 = a0.add(4), a5 = a0.add(5), a6 = a0.add(6), a7 = a0.add(7), a8 = a0.add(8), a9 = a0.add(9),
                a10 = a0.add(10), a11 = a0.add(11);
        for (int i = 0; i < ITERATIONS; i++) {
            a0 = a0.fma(m, b); a1 = a1.fma(m, b); a2 = a2.fma(m, b); a3 = a3.fma(m, b);
            a4 = a4.fma(m, b); a5 = a5.fma(m, b); a6 = a6.fma(m, b); a7 = a7.fma(m, b);
            a8 = a8.fma(m, b); a9 = a9.fma(m, b); a10 = a10.fma(m, b); a11 = a11.fma(m, b);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }
}
