package dev.tandem.kernels;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

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

    /**
     * F16 rows shorter than one step of the dot, of a whole number of steps, with a scalar tail, and
     * holding infinities, NaNs, subnormals and signed zeros: matvec still gives every row its dot's
     * bits (a 4-rows-a-pass matvec was tried against this, docs/benchmarks.md, "F16 on Zen 5").
     */
    @Test
    void f16RowsWithTailsAndSpecialHalvesMatchDot() {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        short[] special = {0x7C00, (short) 0xFC00, 0x7E00, 0x0001, (short) 0x83FF, (short) 0x8000, 0x7BFF};
        for (int cols : new int[] {31, 1024, 1061, 4127}) {
            int rows = 11;
            short[] halves = new short[rows * cols];
            for (int i = 0; i < halves.length; i++) {
                halves[i] = Float.floatToFloat16((float) rnd.nextGaussian());
            }
            // Rows 0-3 (a group) and 8 get one special value each, at a random column.
            for (int r : new int[] {0, 1, 2, 3, 8}) {
                halves[r * cols + rnd.nextInt(cols)] = special[rnd.nextInt(special.length)];
            }
            WeightMatrix m = Encoded.halves(halves, rows, cols).matrix();
            float[] x = Encoded.gaussian(rnd, cols + 1);
            float[] out = new float[rows];
            m.matvec(x, 1, out, 0);
            for (int r = 0; r < rows; r++) {
                // floatToIntBits: one NaN is as good as another; every other value must match bit for bit.
                assertEquals(Float.floatToIntBits(m.dot(r, x, 1)), Float.floatToIntBits(out[r]),
                        "F16 " + rows + "x" + cols + " row " + r + " (seed " + seed + ")");
            }
        }
    }

    /** matvecs runs several matrices as one pool job, chunks spanning two of them: each row still equals its dot. */
    @ParameterizedTest
    @EnumSource(WeightFormat.class)
    void fusedMatvecsEqualEachRowsDotBitForBit(WeightFormat format) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int cols = 512; // a multiple of every block size
        WeightFormat other = format == WeightFormat.Q6_K ? WeightFormat.Q4_0 : WeightFormat.Q6_K;
        WeightMatrix[] ms = {
            Encoded.random(format, 13, cols, rnd).matrix(),
            Encoded.random(other, 4, cols, rnd).matrix(),
            Encoded.random(format, 257, cols, rnd).matrix(),
        };
        float[] x = new float[cols + 3];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        float[][] outs = {new float[13], new float[4], new float[257]};
        WeightMatrix.matvecs(x, 3, ms, outs);
        for (int i = 0; i < ms.length; i++) {
            for (int r = 0; r < ms[i].rows(); r++) {
                assertEquals(Float.floatToRawIntBits(ms[i].dot(r, x, 3)), Float.floatToRawIntBits(outs[i][r]),
                        format + " matrix " + i + " row " + r + " (seed " + seed + ")");
            }
        }
        assertThrows(IllegalArgumentException.class, () -> WeightMatrix.matvecs(x, 3, ms, new float[2][]));
        assertThrows(IndexOutOfBoundsException.class,
                () -> WeightMatrix.matvecs(x, 3, ms, new float[][] {new float[13], new float[3], new float[257]}));
    }
}
