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
 *       scale), 3 independent chains, weights loaded: the ceiling of the Q8_0/Q4_0 integer path once weights are
 *       decoded ({@link #blockDotMacsPerOp()}, 32 MACs per step).</li>
 * </ul>
 * Width: the widest the machine has, as the 512-bit paired kernels ({@code PairLanes}) use; it was
 * capped at 256 bits while the integer kernels were. mulAdd16 runs {@link #CHAINS} chains: with 8, a
 * 16-bit multiply's latency bounded it on Zen 5 (161 against 201 G MAC/s on one 512-bit thread,
 * session 29). The loop-invariant operands come from a field,
 * loaded from arrays, not broadcast, for the reason {@link FmaPeakBenchmark} gives (C2 re-broadcasts
 * a broadcast before every use inside the loop, and the loads, not the multiplies, then set the rate).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 10, time = 1)
// step() takes and returns vectors: force-inlined, as the kernels' helpers are (else C2 may box them).
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xms2g", "-Xmx8g",
        "-XX:CompileCommand=inline,dev.tandem.bench.Int8DotPeakBenchmark::step"})
public class Int8DotPeakBenchmark {
    private static final VectorShape SHAPE = VectorShape.forBitSize(FloatVector.SPECIES_PREFERRED.vectorBitSize());
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, SHAPE);
    private static final VectorSpecies<Float> F = VectorSpecies.of(float.class, SHAPE);
    static final int ITERATIONS = 1 << 20;
    /** Independent multiply-add chains in {@link #mulAdd16AllCores}. */
    static final int CHAINS = 16;

    private final float[] partial = new float[64];
    /** Non-constant operands, one vector each (see the class comment). */
    private final short[] multiplier = filled((short) 3), addend = filled((short) 5);
    /** 16 pairs of weight vectors (1 KiB at 256 bits, 2 KiB at 512) and 6 activation vectors, values in int8 range. */
    private final short[] weights = new short[16 * 2 * S.length()], acts = new short[6 * S.length()];
    private final float[] blockScale = new float[F.length()];

    {
        java.util.Arrays.fill(blockScale, 1e-6f);
        for (int i = 0; i < weights.length; i++) {
            weights[i] = (short) (i * 37 % 255 - 127);
        }
        for (int i = 0; i < acts.length; i++) {
            acts[i] = (short) (i * 53 % 255 - 127);
        }
    }

    private static short[] filled(short value) {
        short[] v = new short[S.length()];
        java.util.Arrays.fill(v, value);
        return v;
    }

    /** int8 MACs per op of {@link #mulAdd16AllCores}. */
    public static double mulAdd16MacsPerOp() {
        return (double) Parallel.threads() * ITERATIONS * CHAINS * S.length();
    }

    /** int8 MACs per op of {@link #blockDotAllCores}: 2 multiplies of S.length() lanes per block step (32 at 256 bits). */
    public static double blockDotMacsPerOp() {
        return (double) Parallel.threads() * ITERATIONS * 3 * 2 * S.length();
    }

    @Benchmark
    public float mulAdd16AllCores() {
        short[] m = multiplier, b = addend;
        return allCores(seed -> mulAdd16(seed, m, b));
    }

    @Benchmark
    public float blockDotAllCores() {
        short[] w = weights, x = acts;
        float[] scale = blockScale;
        return allCores(seed -> blockDot(seed, w, x, scale));
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

    private static double mulAdd16(int seed, short[] multiplier, short[] addend) {
        ShortVector m = ShortVector.fromArray(S, multiplier, 0);
        ShortVector a0 = ShortVector.broadcast(S, (short) seed), a1 = a0.add((short) 1), a2 = a0.add((short) 2),
                a3 = a0.add((short) 3), a4 = a0.add((short) 4), a5 = a0.add((short) 5), a6 = a0.add((short) 6),
                a7 = a0.add((short) 7);
        ShortVector c0 = a0.add((short) 8), c1 = a0.add((short) 9), c2 = a0.add((short) 10), c3 = a0.add((short) 11),
                c4 = a0.add((short) 12), c5 = a0.add((short) 13), c6 = a0.add((short) 14), c7 = a0.add((short) 15);
        ShortVector b = ShortVector.fromArray(S, addend, 0);
        for (int i = 0; i < ITERATIONS; i++) {
            a0 = a0.mul(m).add(b); a1 = a1.mul(m).add(b); a2 = a2.mul(m).add(b); a3 = a3.mul(m).add(b);
            a4 = a4.mul(m).add(b); a5 = a5.mul(m).add(b); a6 = a6.mul(m).add(b); a7 = a7.mul(m).add(b);
            c0 = c0.mul(m).add(b); c1 = c1.mul(m).add(b); c2 = c2.mul(m).add(b); c3 = c3.mul(m).add(b);
            c4 = c4.mul(m).add(b); c5 = c5.mul(m).add(b); c6 = c6.mul(m).add(b); c7 = c7.mul(m).add(b);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7)
                .add(c0).add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).reduceLanes(VectorOperators.ADD);
    }

    private static double blockDot(int seed, short[] weights, short[] acts, float[] blockScale) {
        int n = S.length(), mask = weights.length / (2 * n) - 1;
        ShortVector x0 = ShortVector.fromArray(S, acts, 0), x1 = ShortVector.fromArray(S, acts, n),
                x2 = ShortVector.fromArray(S, acts, 2 * n), x3 = ShortVector.fromArray(S, acts, 3 * n),
                x4 = ShortVector.fromArray(S, acts, 4 * n), x5 = ShortVector.fromArray(S, acts, 5 * n);
        FloatVector scale = FloatVector.fromArray(F, blockScale, 0);
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0;
        for (int i = 0; i < ITERATIONS; i++) {
            // Two weight vectors per iteration from an L1-resident array, as a kernel loads decoded
            // weights, against six activation vectors in registers: the 6 products are distinct, so
            // C2 can neither hoist the integer work out of the loop nor merge steps (the earlier
            // version's six steps were pairwise equal up to commutation, and C2 computed 2 of them).
            // Each chain's step depends on its accumulator only through the FMA, as in the kernels.
            int o = (i + seed & mask) * 2 * n;
            ShortVector w0 = ShortVector.fromArray(S, weights, o), w1 = ShortVector.fromArray(S, weights, o + n);
            a0 = step(w0, x0, w1, x1).fma(scale, a0);
            a1 = step(w0, x2, w1, x3).fma(scale, a1);
            a2 = step(w0, x4, w1, x5).fma(scale, a2);
        }
        return a0.add(a1).add(a2).reduceLanes(VectorOperators.ADD);
    }

    private static FloatVector step(ShortVector w0, ShortVector a0, ShortVector w1, ShortVector a1) {
        IntVector p = w0.mul(a0).add(w1.mul(a1)).reinterpretAsInts();
        IntVector lo = p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16);
        return (FloatVector) lo.add(p.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
    }
}
