package dev.tandem.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * e^x in float from IEEE adds, multiplies and bit moves only, so every execution mode computes the
 * same bits. {@code lanewise(VectorOperators.EXP)} does not: the interpreter's and C1's fallback
 * runs Math.exp per lane while C2 calls a short-vector math library that differs in the last bit,
 * so a kernel using it changed its results once C2 compiled it (a fresh JVM's first generations
 * differed from later ones). The scalar {@link #exp(float)} performs the same operations in the same
 * order as one lane of {@link #exp(FloatVector)}, so a vector loop's tail matches its body.
 *
 * <p>Method (Cephes expf): x = n ln2 + r with n = round(x / ln2) and |r| <= ln2/2, ln2 split in two so
 * n*LN2_HI is exact; e^r by a degree-7 polynomial; then the result is scaled by 2^n through the
 * exponent bits. Within 1 ulp of the exact e^x on [-86.9, 88.72] (tested against Math.exp); above
 * that +Infinity, below it 0 (the true value is below 2e-38); NaN stays NaN.
 */
final class Exp {
    private Exp() {}

    private static final float LOG2E = 1.44269504088896341f;
    /** 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer, held in the low bits. */
    private static final float SHIFTER = 0x1.8p23f;
    private static final int SHIFTER_BITS = Float.floatToRawIntBits(SHIFTER);
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float P0 = 1.9875691500e-4f;
    private static final float P1 = 1.3981999507e-3f;
    private static final float P2 = 8.3334519073e-3f;
    private static final float P3 = 4.1665795894e-2f;
    private static final float P4 = 1.6666665459e-1f;
    private static final float P5 = 5.0000001201e-1f;
    /** Above this e^x overflows float. */
    static final float OVERFLOW = 88.72283f;
    /** Below this the result is 0: it keeps n >= -125, so 2^(n-1) is a normal float. */
    static final float UNDERFLOW = -86.9f;

    /** e^x of one float, bit-identical to a lane of {@link #exp(FloatVector)}. */
    static float exp(float x) {
        if (x > OVERFLOW) {
            return Float.POSITIVE_INFINITY;
        }
        if (x < UNDERFLOW) {
            return 0f;
        }
        float t = x * LOG2E + SHIFTER;
        float n = t - SHIFTER;
        float r = x - n * LN2_HI;
        r = r - n * LN2_LO;
        float p = P0;
        p = p * r + P1;
        p = p * r + P2;
        p = p * r + P3;
        p = p * r + P4;
        p = p * r + P5;
        float y = p * (r * r) + r + 1f;
        // (2y) * 2^(n-1): n = 128 (x just below OVERFLOW) needs no unrepresentable 2^128, and 2y is
        // exact, so the one rounding is the final multiply's.
        float half = Float.intBitsToFloat((Float.floatToRawIntBits(t) - SHIFTER_BITS + 126) << 23);
        return (y * 2f) * half;
    }

    /** e^x lane by lane. */
    static FloatVector exp(FloatVector x) {
        VectorMask<Float> over = x.compare(VectorOperators.GT, OVERFLOW);
        VectorMask<Float> under = x.compare(VectorOperators.LT, UNDERFLOW);
        FloatVector t = x.mul(LOG2E).add(SHIFTER);
        FloatVector n = t.sub(SHIFTER);
        FloatVector r = x.sub(n.mul(LN2_HI));
        r = r.sub(n.mul(LN2_LO));
        FloatVector p = FloatVector.broadcast(x.species(), P0);
        p = p.mul(r).add(P1);
        p = p.mul(r).add(P2);
        p = p.mul(r).add(P3);
        p = p.mul(r).add(P4);
        p = p.mul(r).add(P5);
        FloatVector y = p.mul(r.mul(r)).add(r).add(1f);
        IntVector bits = ((IntVector) t.reinterpretAsInts()).sub(SHIFTER_BITS - 126).lanewise(VectorOperators.LSHL, 23);
        FloatVector e = y.mul(2f).mul((FloatVector) bits.reinterpretAsFloats());
        return e.blend(Float.POSITIVE_INFINITY, over).blend(0f, under);
    }
}
