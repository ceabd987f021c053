package dev.tandem.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector species every kernel uses, fixed once from {@link KernelConfig#vectorBits()} and held in
 * static finals so C2 treats them as constants, plus the conversions shared by several formats.
 *
 * <p>Narrow inputs are loaded with a species holding as many lanes as {@link #F} where one exists (a
 * 128-bit ByteVector feeds a 512-bit FloatVector lane for lane). Below that the smallest shape, 64 bits,
 * holds several float vectors' worth, converted one "part" at a time: {@link #B_PARTS}, {@link #S_PARTS}.
 */
final class Vec {
    private Vec() {}

    static {
        loadEveryHeapSegmentKind();
    }

    /**
     * Loads the JDK's heap segment classes before any kernel is compiled. C2 compiles the kernels'
     * reads of the mapped weights assuming the memory-segment classes loaded so far are all there
     * are; the Vector API's Java fallback (a cold method's reinterpretAsInts, for one) wraps a
     * byte[] in a heap segment, and the first such segment loaded a new segment class and threw away
     * every compiled kernel at once (68 methods, -Xlog:dependencies, a stories110M Q4_K_M prefill
     * 14-18 s into the run). They were recompiled at C1 tiers first, where the Vector API runs its
     * Java fallback, and a Q4_K prefill then spent as long decoding panels in that fallback as in
     * its FMA kernel for seconds afterwards: one source of the 2-3x swings between identical runs.
     */
    private static void loadEveryHeapSegmentKind() {
        MemorySegment.ofArray(new byte[0]);
        MemorySegment.ofArray(new char[0]);
        MemorySegment.ofArray(new short[0]);
        MemorySegment.ofArray(new int[0]);
        MemorySegment.ofArray(new float[0]);
        MemorySegment.ofArray(new long[0]);
        MemorySegment.ofArray(new double[0]);
    }

    /** False when tandem.vectorBits=0: every kernel takes its scalar path. */
    static final boolean ENABLED = KernelConfig.vectorBits() > 0;

    static final VectorShape SHAPE =
            ENABLED ? VectorShape.forBitSize(KernelConfig.vectorBits()) : VectorShape.preferredShape();
    static final VectorSpecies<Float> F = VectorSpecies.of(float.class, SHAPE);
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, SHAPE);
    static final int FL = F.length();

    /** Bytes for FL floats (or the smallest byte species, 8 lanes). */
    static final VectorSpecies<Byte> B =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, F.vectorBitSize() / 4)));
    static final int B_PARTS = B.length() / FL;

    /** Shorts (F16/BF16 bits) for FL floats (or the smallest short species, 4 lanes). */
    static final VectorSpecies<Short> S =
            VectorSpecies.of(short.class, VectorShape.forBitSize(Math.max(64, F.vectorBitSize() / 2)));
    static final int S_PARTS = S.length() / FL;

    static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** Part {@code part} of a vector of bfloat16s as floats: a bfloat16 is the top half of a float. */
    static FloatVector bf16ToFloat(ShortVector bf16, int part) {
        IntVector h = (IntVector) bf16.convertShape(VectorOperators.S2I, I, part);
        return h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /**
     * Part {@code part} of a vector of IEEE halves as floats, exactly {@link Float#float16ToFloat} lane
     * by lane (NaNs stay NaNs with their payload): the half's magnitude bits shifted into a float's
     * place read as 2^-112 times the value, normal or subnormal, so one multiply by 2^112 (exact)
     * rescales it; exponent 31 (infinities, NaNs) takes the all-ones float exponent instead; then the
     * sign. Why: the Vector API has no half conversion, and converting a row into a buffer first (C2's
     * vcvtph2ps loop) then multiplying made F16 decode three passes over each row (docs/benchmarks.md,
     * "F16 decode in one pass").
     */
    static FloatVector f16ToFloat(ShortVector halves, int part) {
        IntVector h = (IntVector) halves.convertShape(VectorOperators.S2I, I, part); // sign-extended
        IntVector magnitude = h.and(0x7fff);
        IntVector shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
        IntVector bits = shifted.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                .blend(shifted.or(0x7f80_0000), magnitude.compare(VectorOperators.GE, 0x7c00));
        return bits.or(h.and(0x8000_0000)).reinterpretAsFloats();
    }

    private static final VectorShuffle<Float> SWAP8 = FL >= 16 ? VectorShuffle.fromOp(F, i -> i ^ 8) : null;
    private static final VectorShuffle<Float> SWAP4 = FL >= 8 ? VectorShuffle.fromOp(F, i -> i ^ 4) : null;
    private static final VectorShuffle<Float> SWAP2 = FL >= 4 ? VectorShuffle.fromOp(F, i -> i ^ 2) : null;
    private static final VectorShuffle<Float> SWAP1 = FL >= 2 ? VectorShuffle.fromOp(F, i -> i ^ 1) : null;

    /**
     * The sum of v's lanes in one fixed butterfly order. reduceLanes(ADD) may add in any order, and
     * does: C2's intrinsic and the interpreter's fallback differ in the last bit, so the same row
     * could come out differently before and after the JIT compiles it. Fixed pairs of lanewise adds
     * are exact IEEE operations whatever runs them.
     */
    static float sum(FloatVector v) {
        if (FL >= 16) {
            v = v.add(v.rearrange(SWAP8));
        }
        if (FL >= 8) {
            v = v.add(v.rearrange(SWAP4));
        }
        if (FL >= 4) {
            v = v.add(v.rearrange(SWAP2));
        }
        if (FL >= 2) {
            v = v.add(v.rearrange(SWAP1));
        }
        return v.lane(0);
    }

    /** Part {@code part} of a vector of signed bytes as floats. */
    static FloatVector bytesToFloat(ByteVector bytes, int part) {
        return (FloatVector) bytes.convertShape(VectorOperators.B2F, F, part);
    }

    /** Scalar float of a bfloat16's bits. */
    static float bf16(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    /** Vector dot product of two float arrays over n elements (fp32 accumulation). */
    static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int j = 0;
        for (int bound = n - 2 * FL; j <= bound; j += 2 * FL) {
            acc0 = FloatVector.fromArray(F, a, aOff + j).fma(FloatVector.fromArray(F, b, bOff + j), acc0);
            acc1 = FloatVector.fromArray(F, a, aOff + j + FL).fma(FloatVector.fromArray(F, b, bOff + j + FL), acc1);
        }
        for (int bound = n - FL; j <= bound; j += FL) {
            acc0 = FloatVector.fromArray(F, a, aOff + j).fma(FloatVector.fromArray(F, b, bOff + j), acc0);
        }
        float sum = sum(acc0.add(acc1));
        for (; j < n; j++) {
            sum += a[aOff + j] * b[bOff + j];
        }
        return sum;
    }
}
