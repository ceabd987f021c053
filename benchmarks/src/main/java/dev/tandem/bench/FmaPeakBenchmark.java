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
 *
 * <p>The multiplier and addend are loaded from arrays and each chain runs through the addend. C2
 * treats a broadcast as free to recompute: from a literal or a scalar it re-broadcasts it before
 * every use inside the loop (vbroadcastss loads from its constant table or the stack), and it emits
 * only the 231 FMA form (dst += src1 * src2), so a chain through the multiplicand overwrites the
 * addend's register and forces one more broadcast per FMA. Either way the loads, not the FMA units,
 * set the rate: the earlier versions of this benchmark measured about one FMA per cycle on a core
 * that issues two (docs/benchmarks.md, "Correction: the FMA peak was half the hardware's").
 * Written this way the loop is 12 register-only FMAs (checked with -XX:CompileCommand=print).
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
    /** Non-constant operands (see the class comment), one vector each; values keep the chains finite. */
    private final float[] multiplier = filled(0.999f), addend = filled(1e-3f);

    public static double flopsPerOp() {
        return (double) Parallel.threads() * ITERATIONS * CHAINS * S.length() * 2;
    }

    @Benchmark
    public float fmaAllCores() {
        int threads = Parallel.threads();
        float[] m = multiplier, b = addend;
        Parallel.forRange(threads, 1, (start, end) -> {
            for (int t = start; t < end; t++) {
                partial[t] = chains(t, m, b);
            }
        });
        float total = 0;
        for (int t = 0; t < threads; t++) {
            total += partial[t];
        }
        return total;
    }

    private static float[] filled(float value) {
        float[] v = new float[S.length()];
        java.util.Arrays.fill(v, value);
        return v;
    }

    private static float chains(int seed, float[] multiplier, float[] addend) {
        FloatVector m = FloatVector.fromArray(S, multiplier, 0), b = FloatVector.fromArray(S, addend, 0);
        FloatVector a0 = FloatVector.broadcast(S, seed), a1 = a0.add(1), a2 = a0.add(2), a3 = a0.add(3),
                a4 = a0.add(4), a5 = a0.add(5), a6 = a0.add(6), a7 = a0.add(7), a8 = a0.add(8), a9 = a0.add(9),
                a10 = a0.add(10), a11 = a0.add(11);
        for (int i = 0; i < ITERATIONS; i++) {
            // Through the addend, as a kernel's accumulator (see the class comment).
            a0 = m.fma(b, a0); a1 = m.fma(b, a1); a2 = m.fma(b, a2); a3 = m.fma(b, a3);
            a4 = m.fma(b, a4); a5 = m.fma(b, a5); a6 = m.fma(b, a6); a7 = m.fma(b, a7);
            a8 = m.fma(b, a8); a9 = m.fma(b, a9); a10 = m.fma(b, a10); a11 = m.fma(b, a11);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }
}
