package dev.tandem.bench;

import dev.tandem.kernels.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The int8 compute ceilings of the Vector API on every core, operands in registers, as
 * {@link FmaPeakBenchmark} is for FMA. The JDK 25 Vector API has no int8 dot instruction
 * (pmaddubsw, pmaddwd, vpdpbusd), so int8 products are 16-bit lane multiplies:
 * <ul>
 *   <li>{@link #mulAdd16AllCores}: a 16-bit multiply and a 16-bit add per lane, 8 independent chains:
 *       the most int8 multiply-accumulates per second any Vector API kernel can reach
 *       ({@link #mulAdd16MacsPerOp()});</li>
 *   <li>{@link #blockDotAllCores}: the kernels' integer-dot step per 32-element block (two 16-bit
 *       multiplies and an add, adjacent lanes paired into ints, int to float, one FMA with the block
 *       scale), 6 independent chains: the ceiling of the Q8_0/Q4_0 integer path once weights are
 *       decoded ({@link #blockDotMacsPerOp()}, 32 MACs per step).</li>
 * </ul>
 * Width: 256 bits at most, as the integer path uses.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 10, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xms2g", "-Xmx8g"})
public class Int8DotPeakBenchmark {
    private static final VectorShape SHAPE =
            VectorShape.forBitSize(Math.min(256, FloatVector.SPECIES_PREFERRED.vectorBitSize()));
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, SHAPE);
    private static final VectorSpecies<Float> F = VectorSpecies.of(float.class, SHAPE);
    static final int ITERATIONS = 1 << 20;

    private final float[] partial = new float[64];

    /** int8 MACs per op of {@link #mulAdd16AllCores}. */
    public static double mulAdd16MacsPerOp() {
        return (double) Parallel.threads() * ITERATIONS * 8 * S.length();
    }

    /** int8 MACs per op of {@link #blockDotAllCores}: 32 per block step (16 lanes x 2 multiplies at 256 bits). */
    public static double blockDotMacsPerOp() {
        return (double) Parallel.threads() * ITERATIONS * 6 * 2 * S.length();
    }

    @Benchmark
    public float mulAdd16AllCores() {
        return allCores(Int8DotPeakBenchmark::mulAdd16);
    }

    @Benchmark
    public float blockDotAllCores() {
        return allCores(Int8DotPeakBenchmark::blockDot);
    }

    private float allCores(java.util.function.IntToDoubleFunction body) {
        int threads = Parallel.threads();
        Parallel.forRange(threads, 1, (start, end) -> {
            for (int t = start; t < end; t++) {
                partial[t] = (float) body.applyAsDouble(t);
            }
        });
        float total = 0;
        for (int t = 0; t < threads; t++) {
            total += partial[t];
        }
        return total;
    }

    private static double mulAdd16(int seed) {
        ShortVector m = ShortVector.broadcast(S, (short) 3);
        ShortVector a0 = ShortVector.broadcast(S, (short) seed), a1 = a0.add((short) 1), a2 = a0.add((short) 2),
                a3 = a0.add((short) 3), a4 = a0.add((short) 4), a5 = a0.add((short) 5), a6 = a0.add((short) 6),
                a7 = a0.add((short) 7);
        ShortVector b = ShortVector.broadcast(S, (short) 5);
        for (int i = 0; i < ITERATIONS; i++) {
            a0 = a0.mul(m).add(b); a1 = a1.mul(m).add(b); a2 = a2.mul(m).add(b); a3 = a3.mul(m).add(b);
            a4 = a4.mul(m).add(b); a5 = a5.mul(m).add(b); a6 = a6.mul(m).add(b); a7 = a7.mul(m).add(b);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).reduceLanes(VectorOperators.ADD);
    }

    private static double blockDot(int seed) {
        ShortVector w0 = ShortVector.broadcast(S, (short) (seed + 3)), w1 = ShortVector.broadcast(S, (short) -7);
        ShortVector x0 = ShortVector.broadcast(S, (short) 100), x1 = ShortVector.broadcast(S, (short) -90);
        FloatVector scale = FloatVector.broadcast(F, 1e-6f);
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
        for (int i = 0; i < ITERATIONS; i++) {
            // Each chain's step depends on its accumulator only through the FMA, as in the kernels.
            a0 = step(w0, x0, w1, x1).fma(scale, a0);
            a1 = step(w1, x0, w0, x1).fma(scale, a1);
            a2 = step(w0, x1, w1, x0).fma(scale, a2);
            a3 = step(w1, x1, w0, x0).fma(scale, a3);
            a4 = step(x0, w0, x1, w1).fma(scale, a4);
            a5 = step(x1, w0, x0, w1).fma(scale, a5);
            w0 = w0.add((short) 1);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).reduceLanes(VectorOperators.ADD);
    }

    private static FloatVector step(ShortVector w0, ShortVector a0, ShortVector w1, ShortVector a1) {
        IntVector p = w0.mul(a0).add(w1.mul(a1)).reinterpretAsInts();
        IntVector lo = p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16);
        return (FloatVector) lo.add(p.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
    }
}
