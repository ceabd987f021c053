package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The 16-bit product kernels of Q4_K, Q5_K and Q6_K (256-bit vectors) against the one-weight-at-a-time
 * integer sum, on super-blocks of arbitrary bytes and on the extremes where a short could overflow:
 * every weight bit set, activations at +-127, scales at their limits. Runs in every surefire
 * execution; where 256-bit vectors are off the wide kernels still run (the Vector API's Java
 * fallback), so the integer identity is checked at every width.
 */
class KQuantWideSumTest {
    private static MemorySegment bytes(int n, Random rnd, int fill) {
        MemorySegment seg = Arena.ofAuto().allocate(n);
        for (int i = 0; i < n; i++) {
            seg.set(ValueLayout.JAVA_BYTE, i, (byte) (fill < 0 ? rnd.nextInt() : fill));
        }
        return seg;
    }

    private static Q8_KActivations activations(Random rnd, int mode) {
        float[] x = new float[256];
        for (int i = 0; i < x.length; i++) {
            x[i] = switch (mode) {
                case 0 -> (float) rnd.nextGaussian();
                case 1 -> 1f;                       // every q = +127
                default -> (i & 1) == 0 ? -1f : 1f; // q = -127 and +127
            };
        }
        return Q8_KActivations.quantize(x, 0, 256);
    }

    @Test
    void wideSumsEqualTheScalarIntegerSums() {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int[] sc = new int[16];
        int[] m = new int[16];
        for (int trial = 0; trial < 200; trial++) {
            int fill = trial % 4 == 0 ? 0xFF : trial % 4 == 1 ? 0 : -1;
            Q8_KActivations a = activations(rnd, trial % 3);
            MemorySegment q6Bytes = bytes(210, rnd, fill);
            if (trial % 5 == 0) {
                // Every scale at its limit (the wide kernel reads the scales from the block itself).
                for (int s = 0; s < 16; s++) {
                    q6Bytes.set(ValueLayout.JAVA_BYTE, 192 + s, (byte) (trial % 10 == 0 ? -128 : 127));
                }
            }
            Q6_KMatrix q6 = (Q6_KMatrix) WeightMatrix.of(WeightFormat.Q6_K, q6Bytes, 1, 256);
            q6.scales(0, sc, m);
            if (trial % 5 == 0) {
                assertEquals(trial % 10 == 0 ? -128 : 127, sc[15], "Q6_K scales as written");
            }
            assertEquals(q6.scaledSumScalar(0, sc, a.q, 0), q6.scaledSumWide(0, a.qs, 0, a.bsums, 0),
                    "Q6_K trial " + trial + " seed " + seed);
            Q5_KMatrix q5 = (Q5_KMatrix) WeightMatrix.of(WeightFormat.Q5_K, bytes(176, rnd, fill), 1, 256);
            q5.scales(0, sc, m);
            assertEquals(q5.scaledSumScalar(0, sc, a.q, 0), q5.scaledSumWide(0, a.qs, 0),
                    "Q5_K trial " + trial + " seed " + seed);
            Q4_KMatrix q4 = (Q4_KMatrix) WeightMatrix.of(WeightFormat.Q4_K, bytes(144, rnd, fill), 1, 256);
            q4.scales(0, sc, m);
            assertEquals(q4.scaledSumScalar(0, sc, a.q, 0), q4.scaledSumWide(0, a.qs, 0),
                    "Q4_K trial " + trial + " seed " + seed);
            assertEquals(KQuantMatrix.minSum(m, a.bsums, 0), q4.minSumWide(0, a.bsums, 0),
                    "Q4_K mins, trial " + trial + " seed " + seed);
            assertEquals(KQuantMatrix.minSum(m, a.bsums, 0),
                    KQuantMatrix.packedMinSumWide(KQuantMatrix.packedMins(q4.packed(0)), a.pairSums, 0),
                    "Q4_K mins from the 32-value activation sums, trial " + trial + " seed " + seed);
        }
    }
}
