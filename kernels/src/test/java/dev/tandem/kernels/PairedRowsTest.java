package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/**
 * The batch-1 kernels on paired rows ({@link PairedRows}; in JVMs with 256-bit vectors and
 * tandem.pairRows on, the file-layout kernels otherwise): every sub-range of rows, odd starts and
 * ends and an odd row count included (the last row paired with a zero row), equals the scalar
 * reference bit for bit, for every activation row of a batch. The K-quants' batch-1 task (Q4_K and
 * Q6_K on their paired copies with unpacked scales) likewise equals their scalar row dot. With 512-bit
 * vectors these run the {@link PairLanes} forms; the narrow-pairs JVM (tandem.widePairs=false) runs
 * the 256-bit ones.
 */
class PairedRowsTest {
    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"Q8_0", "Q4_0"})
    void everyRowRangeEqualsTheScalarReferenceBitForBit(WeightFormat format) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int rows = 7, cols = 96;
        WeightMatrix m = Encoded.random(format, rows, cols, rnd).matrix();
        IntDot.Format f = (IntDot.Format) m;
        Q8Activations a = Q8Activations.quantize(Encoded.gaussian(rnd, 2 * cols), 0, 2, cols);
        for (int t = 0; t < 2; t++) {
            for (int start = 0; start <= rows; start++) {
                for (int end = start; end <= rows; end++) {
                    float[] out = new float[rows + 2];
                    java.util.Arrays.fill(out, Float.NaN);
                    f.dotRows(start, end, a, t, out, 1);
                    for (int r = 0; r < rows; r++) {
                        String where = format + " rows [" + start + ", " + end + ") token " + t + " row " + r + " seed " + seed;
                        if (r >= start && r < end) {
                            assertEquals(Float.floatToRawIntBits(f.dotQ8Scalar(r, a, t)), Float.floatToRawIntBits(out[1 + r]), where);
                        } else {
                            assertTrue(Float.isNaN(out[1 + r]), where + ": written outside the range");
                        }
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void kQuantBatchOneRowRangesEqualTheScalarRowDotBitForBit(WeightFormat format) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int rows = 7, cols = 768;
        KQuantMatrix m = (KQuantMatrix) Encoded.random(format, rows, cols, rnd).matrix();
        Q8_KActivations a = Q8_KActivations.quantize(Encoded.gaussian(rnd, cols), 0, cols);
        for (int start = 0; start <= rows; start++) {
            for (int end = start; end <= rows; end++) {
                float[] out = new float[rows + 2];
                java.util.Arrays.fill(out, Float.NaN);
                m.rowsTask(a, 1, out, 1).run(start, end);
                for (int r = 0; r < rows; r++) {
                    String where = format + " rows [" + start + ", " + end + ") row " + r + " seed " + seed;
                    if (r >= start && r < end) {
                        assertEquals(Float.floatToRawIntBits(m.rowDot(r, a, 0, false)), Float.floatToRawIntBits(out[1 + r]), where);
                    } else {
                        assertTrue(Float.isNaN(out[1 + r]), where + ": written outside the range");
                    }
                }
            }
        }
    }

    @Test
    void copiesThatExceedAnArrayOrHalfTheFreeHeapAreNotMade() {
        assertTrue(PairedRows.fits(1000, 125, 2250));
        assertFalse(PairedRows.fits(1000, 125, 2249));
        assertFalse(PairedRows.fits(Integer.MAX_VALUE, 4, Long.MAX_VALUE));
        assertFalse(PairedRows.fits(8, 4L * Integer.MAX_VALUE, Long.MAX_VALUE));
    }
}
