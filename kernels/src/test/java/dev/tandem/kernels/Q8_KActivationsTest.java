package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The vector Q8_K quantizer against the scalar one, bit for bit, in every kernel JVM: scales by their
 * raw bits, integers, 16- and 32-value sums, on blocks that reach the edges (all zero, a NaN, an
 * infinity, a subnormal maximum whose reciprocal overflows, the smallest normal maximum, ties at .5,
 * signed zeros, values across 40 binades).
 */
class Q8_KActivationsTest {
    private static final int BLOCK = Q8_KActivations.BLOCK;

    @Test
    void vectorBlocksEqualScalarBlocksBitForBit() {
        Random rnd = new Random(8);
        int blocks = 12, off = 3;
        float[] x = new float[off + blocks * BLOCK];
        for (int i = off; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * Math.pow(2, rnd.nextInt(41) - 20));
        }
        Arrays.fill(x, off, off + BLOCK, 0f); // block 0: all zero, one of them negative
        x[off + 7] = -0f;
        x[off + BLOCK + 9] = Float.NaN; // block 1
        x[off + 2 * BLOCK + 100] = Float.NEGATIVE_INFINITY; // block 2
        Arrays.fill(x, off + 3 * BLOCK, off + 4 * BLOCK, 0f); // block 3: subnormals only
        x[off + 3 * BLOCK + 5] = Float.MIN_VALUE;
        x[off + 3 * BLOCK + 6] = -2 * Float.MIN_VALUE;
        for (int i = 0; i < BLOCK; i++) { // block 4: around the smallest normal
            x[off + 4 * BLOCK + i] = Float.MIN_NORMAL * (i % 3 - 1);
        }
        for (int i = 0; i < BLOCK; i++) { // block 5: 127 and halves, ties to even in units of the scale
            x[off + 5 * BLOCK + i] = i == 0 ? 127f : (i % 64) - 31.5f;
        }
        x[off + 6 * BLOCK + 3] = -Float.MAX_VALUE; // block 6: the largest magnitude
        x[off + 7 * BLOCK + 11] = -0f;

        Q8_KActivations scalar = Q8_KActivations.quantize(x, off, blocks * BLOCK, false);
        Q8_KActivations vector = Q8_KActivations.quantize(x, off, blocks * BLOCK, true);
        for (int b = 0; b < blocks; b++) {
            assertEquals(Float.floatToRawIntBits(scalar.d[b]), Float.floatToRawIntBits(vector.d[b]), "scale of block " + b);
        }
        assertArrayEquals(scalar.q, vector.q);
        assertArrayEquals(scalar.qs, vector.qs);
        assertArrayEquals(scalar.bsums, vector.bsums);
        assertArrayEquals(scalar.pairSums, vector.pairSums);
    }
}
