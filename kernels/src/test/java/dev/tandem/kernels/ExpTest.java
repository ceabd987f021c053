package dev.tandem.kernels;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExpTest {
    private static final int FL = Vec.F.length();

    /** Every lane of the vector form against the scalar form, bit for bit. */
    private static void sameBits(float[] xs) {
        float[] padded = java.util.Arrays.copyOf(xs, (xs.length + FL - 1) / FL * FL);
        float[] out = new float[padded.length];
        for (int i = 0; i < padded.length; i += FL) {
            Exp.exp(FloatVector.fromArray(Vec.F, padded, i)).intoArray(out, i);
        }
        for (int i = 0; i < xs.length; i++) {
            assertEquals(Float.floatToRawIntBits(Exp.exp(xs[i])), Float.floatToRawIntBits(out[i]),
                    "exp(" + xs[i] + "): vector " + out[i] + " scalar " + Exp.exp(xs[i]));
        }
    }

    @Test
    void vectorLanesEqualTheScalarFormOnEveryFloatStepOfTheRange() {
        // Every 1021st float bit pattern from -100 to 100 (about 2 million values), in chunks.
        int lo = Float.floatToRawIntBits(-100f);
        int hi = Float.floatToRawIntBits(100f);
        float[] chunk = new float[1 << 16];
        int k = 0;
        for (long bits = Integer.toUnsignedLong(lo); bits >= 0x80000000L; bits -= 1021) {  // negatives: -100 up to -0
            chunk[k++] = Float.intBitsToFloat((int) bits);
            if (k == chunk.length) { sameBits(chunk); k = 0; }
        }
        for (int bits = 0; bits <= hi; bits += 1021) {
            chunk[k++] = Float.intBitsToFloat(bits);
            if (k == chunk.length) { sameBits(chunk); k = 0; }
        }
        sameBits(java.util.Arrays.copyOf(chunk, k));
    }

    @Test
    void edgesAndSpecialValues() {
        float[] xs = {0f, -0f, 1f, -1f, Exp.OVERFLOW, Math.nextUp(Exp.OVERFLOW), Exp.UNDERFLOW, Math.nextDown(Exp.UNDERFLOW),
                88.3763f, 88.72f, -86.99f, -86.9f, -87.5f, 1e30f, -1e30f, Float.MAX_VALUE, -Float.MAX_VALUE,
                Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, Float.MIN_VALUE, -Float.MIN_VALUE};
        sameBits(xs);
        assertEquals(1f, Exp.exp(0f));
        assertEquals(1f, Exp.exp(-0f));
        assertEquals(Float.POSITIVE_INFINITY, Exp.exp(Math.nextUp(Exp.OVERFLOW)));
        assertEquals(Float.POSITIVE_INFINITY, Exp.exp(Float.POSITIVE_INFINITY));
        assertEquals(0f, Exp.exp(Math.nextDown(Exp.UNDERFLOW)));
        assertEquals(0f, Exp.exp(Float.NEGATIVE_INFINITY));
        assertTrue(Float.isNaN(Exp.exp(Float.NaN)));
        assertTrue(Float.isFinite(Exp.exp(Exp.OVERFLOW)), "e^88.72283 = 3.4e38 is still a float");
    }

    @Test
    void withinOneUlpOfMathExpAcrossTheFiniteRange() {
        float worst = 0;
        float at = 0;
        for (int bits = Float.floatToRawIntBits(Exp.UNDERFLOW); bits < 0; bits -= 251) {  // [-86.9, -0], every 251st float
            float x = Float.intBitsToFloat(bits);
            float ulps = ulps(x);
            if (ulps > worst) { worst = ulps; at = x; }
        }
        for (int bits = 0; bits <= Float.floatToRawIntBits(Exp.OVERFLOW); bits += 251) {
            float x = Float.intBitsToFloat(bits);
            float ulps = ulps(x);
            if (ulps > worst) { worst = ulps; at = x; }
        }
        assertTrue(worst <= 1f, "worst error " + worst + " ulp at x=" + at);
    }

    /** |Exp.exp(x) - e^x| in ulps of the correctly rounded float e^x (Math.exp in double is within 1 ulp of double). */
    private static float ulps(float x) {
        double exact = Math.exp(x);
        float want = (float) exact;
        return (float) (Math.abs(Exp.exp(x) - exact) / Math.ulp(want));
    }
}
