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
 * reference bit for bit, for every activation row of a batch.
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

    @Test
    void copiesThatExceedAnArrayOrHalfTheFreeHeapAreNotMade() {
        assertTrue(PairedRows.fits(1000, 125, 2250));
        assertFalse(PairedRows.fits(1000, 125, 2249));
        assertFalse(PairedRows.fits(Integer.MAX_VALUE, 4, Long.MAX_VALUE));
        assertFalse(PairedRows.fits(8, 4L * Integer.MAX_VALUE, Long.MAX_VALUE));
    }
}
