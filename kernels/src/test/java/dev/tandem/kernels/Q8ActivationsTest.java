package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The batch quantizer (vector blocks, rows across threads) against the one-block-at-a-time quantizer,
 * bit for bit, in every kernel JVM: scales compared by their raw bits, integers exactly, on inputs that
 * reach the edges (an all-zero block, a signed zero, values that round to +-127, ties at .5,
 * subnormals, infinities and NaN).
 */
class Q8ActivationsTest {
    @ParameterizedTest
    @CsvSource({"1, 96", "1, 768", "2, 32", "3, 96", "17, 768", "40, 2080", "256, 768"})
    void batchQuantizerEqualsTheBlockQuantizerBitForBit(int rows, int cols) {
        Random rnd = new Random(rows * 31L + cols);
        float[] x = Encoded.gaussian(rnd, rows * cols + 5);
        for (int i = 0; i < x.length; i++) {
            x[i] *= (float) Math.pow(2, rnd.nextInt(41) - 20);
        }
        java.util.Arrays.fill(x, 5 + 32, 5 + 64, 0f); // an all-zero block: scale 0
        if (rows * cols >= 128) {
            x[5 + 64] = -0f;
            x[5 + 65] = 127f; // ties: 0.5 and 2.5 in units of the scale
            x[5 + 66] = 0.5f;
            x[5 + 67] = 2.5f;
            x[5 + 68] = Float.MIN_VALUE;
        }
        if (rows * cols >= 256) {
            x[5 + 130] = Float.POSITIVE_INFINITY;
            x[5 + 200] = Float.NaN;
            x[5 + 201] = Float.intBitsToFloat(0x7fc01234); // a second NaN, another payload: the block's first one wins
            x[5 + 250] = -Float.MAX_VALUE;
        }
        Q8Activations one = Q8Activations.quantize(x, 5, rows, cols);
        Q8Activations batch = Q8Activations.quantizeBatch(x, 5, rows, cols, true);
        assertArrayEquals(one.q, batch.q);
        assertEquals(one.d.length, batch.d.length);
        for (int b = 0; b < one.d.length; b++) {
            assertEquals(Float.floatToRawIntBits(one.d[b]), Float.floatToRawIntBits(batch.d[b]), "scale of block " + b);
        }
    }

    @ParameterizedTest
    @CsvSource({"4, 33", "4, 0", "-1, 32"})
    void batchQuantizerRejectsShapesTheBlockQuantizerRejects(int rows, int cols) {
        float[] x = new float[256];
        assertThrows(IllegalArgumentException.class, () -> Q8Activations.quantizeBatch(x, 0, rows, cols, true));
    }
}
