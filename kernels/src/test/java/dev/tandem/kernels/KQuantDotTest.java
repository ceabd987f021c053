package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The K-quants' integer dot is exactly the dot of the dequantized weights with the Q8_K-dequantized
 * activations (up to fp32 rounding of the super-block sums), and Q8_K quantization keeps its
 * promises: |x - d*q| <= d/2, the largest value on +-127, block sums equal to the sums of q.
 */
class KQuantDotTest {
    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void dotIsTheDotOfBothDequantizedSides(WeightFormat format) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        for (int rows : new int[] {1, 7, 33}) {
            for (int cols : new int[] {256, 1280}) {
                Encoded e = Encoded.random(format, rows, cols, rnd);
                WeightMatrix m = e.matrix();
                float[] x = Encoded.gaussian(rnd, cols + 1);
                Q8_KActivations a = Q8_KActivations.quantize(x, 1, cols);
                float[] w = new float[cols];
                for (int r = 0; r < rows; r++) {
                    m.dequantizeRow(r, w, 0);
                    double ref = 0, mag = 0;
                    for (int j = 0; j < cols; j++) {
                        double p = (double) w[j] * a.value(j / 256, j % 256);
                        ref += p;
                        mag += Math.abs(p);
                    }
                    float dot = m.dot(r, x, 1);
                    // fp32: the int sums are exact; the rounding comes from d*sum (a few ulps of each
                    // super-block's magnitude) and from adding the super-blocks.
                    assertEquals(ref, dot, 1e-5 * mag + 1e-30, format + " " + rows + "x" + cols + " row " + r + " seed " + seed);
                    assertEquals(Float.floatToRawIntBits(m.dotScalar(r, x, 1)), Float.floatToRawIntBits(dot),
                            format + " vector and scalar bits, seed " + seed);
                }
            }
        }
    }

    @Test
    void q8kQuantizationBoundsAndSums() {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        float[] x = Encoded.gaussian(rnd, 3 * 256);
        x[300] = -9f; // the second block's largest magnitude, negative
        for (int i = 512; i < 768; i++) x[i] = 0f; // an all-zero block
        Q8_KActivations a = Q8_KActivations.quantize(x, 0, x.length);
        assertEquals(9f / 127f, a.d[1], 0f);
        assertEquals(-127, a.q[300]);
        assertEquals(0f, a.d[2], 0f);
        for (int b = 0; b < 3; b++) {
            for (int s = 0; s < 16; s++) {
                int sum = 0;
                for (int i = 0; i < 16; i++) {
                    int k = b * 256 + s * 16 + i;
                    sum += a.q[k];
                    assertTrue(Math.abs(x[k] - a.value(b, s * 16 + i)) <= a.d[b] / 2 * (1 + 1e-6),
                            "value " + k + " off by more than half a step, seed " + seed);
                }
                assertEquals(sum, a.bsums[b * 16 + s], "block sum " + b + "/" + s);
            }
        }
    }

    @Test
    void q8kNeedsWholeBlocksAndKeepsNaN() {
        assertThrows(IllegalArgumentException.class, () -> Q8_KActivations.quantize(new float[300], 0, 300));
        float[] x = new float[256];
        x[3] = Float.NaN;
        assertTrue(Float.isNaN(Q8_KActivations.quantize(x, 0, 256).d[0]));
    }
}
