package dev.tandem.kernels;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * matvec may compute rows in groups (four per pass) or one at a time depending on where the pool
 * splits the rows, which depends on the thread count. Each row must come out bit-identical to
 * dot(row) either way, so results never depend on the machine.
 */
class MatvecGroupingTest {
    @ParameterizedTest
    @EnumSource(WeightFormat.class)
    void everyRowEqualsItsDotBitForBit(WeightFormat format) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int cols = format.blockSize() == 1 ? 1001 : format.isKQuant() ? 512 : 96;
        for (int rows : new int[] {1, 3, 4, 13, 257}) {
            WeightMatrix m = Encoded.random(format, rows, cols, rnd).matrix();
            float[] x = new float[cols + 5];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            float[] out = new float[rows + 2];
            m.matvec(x, 5, out, 2);
            for (int r = 0; r < rows; r++) {
                assertEquals(Float.floatToRawIntBits(m.dot(r, x, 5)), Float.floatToRawIntBits(out[2 + r]),
                        format + " " + rows + "x" + cols + " row " + r + " (seed " + seed + ")");
            }
        }
    }
}
