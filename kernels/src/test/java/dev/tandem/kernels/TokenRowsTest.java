package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link TokenRows} (small batches as batch-1 passes over cache-sized row blocks): called directly on
 * ranges that start at odd rows and end mid-block, every (row, token) is dotQ8's and the scalar
 * reference's bit for bit; through matmul (whichever kernel the JVM's dispatch picks) each token of
 * every small batch equals its own matvec, K-quants included, at 1 and 3 threads; and where it applies.
 */
class TokenRowsTest {
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = WeightFormat.class, names = {"Q8_0", "Q4_0"})
    void rowBlocksEqualDotQ8BitForBit(WeightFormat format) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        // 2080 columns: a row block of 14 (Q4_0) or 7 rows (Q8_0), so 37 rows take several blocks and a short last one.
        for (int cols : new int[] {32, 160, 2080}) {
            int rows = 37;
            WeightMatrix m = Encoded.random(format, rows, cols, rnd).matrix();
            for (int batch = 2; batch <= 13; batch++) {
                float[] x = Encoded.gaussian(rnd, batch * cols);
                Q8Activations a = Q8Activations.quantize(x, 0, batch, cols);
                int start = 1 + rnd.nextInt(4), end = rows - rnd.nextInt(4);
                float[] out = new float[batch * rows];
                Arrays.fill(out, Float.NaN);
                TokenRows.rows((IntDot.Format) m, start, end, a, out);
                for (int t = 0; t < batch; t++) {
                    for (int r = 0; r < rows; r++) {
                        String where = format + " 37x" + cols + " batch " + batch + " rows [" + start + ", " + end + ") row " + r
                                + " token " + t + " seed " + seed;
                        if (r < start || r >= end) {
                            assertTrue(Float.isNaN(out[t * rows + r]), where + ": written outside the range");
                            continue;
                        }
                        float scalar = m instanceof Q8_0Matrix q8 ? q8.dotQ8Scalar(r, a, t) : ((Q4_0Matrix) m).dotQ8Scalar(r, a, t);
                        assertEquals(Float.floatToRawIntBits(scalar), Float.floatToRawIntBits(out[t * rows + r]), where);
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = WeightFormat.class, names = {"Q8_0", "Q4_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void everySmallBatchEqualsItsMatvecs(WeightFormat format) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int initial = Parallel.threads();
        try {
            for (int trial = 0; trial < 3; trial++) {
                int rows = new int[] {9, 33, 70}[trial];
                int cols = format.isKQuant() ? 256 * (1 + trial) : new int[] {64, 416, 2080}[trial];
                WeightMatrix m = format.isKQuant() ? KQuantGemmTest.matrix(format, rows, cols, trial, rnd)
                        : Encoded.random(format, rows, cols, rnd).matrix();
                // 2-13, and the last batches on the batch-1 kernels (Q6_K 16, Q2_K and Q3_K 24, Q4_K 32, Q5_K 128) and the tiles' first
                for (int batch : java.util.stream.IntStream.concat(java.util.stream.IntStream.rangeClosed(2, 13),
                        java.util.stream.IntStream.of(16, 17, 24, 25, 32, 33, 128, 129)).toArray()) {
                    float[] x = format.isKQuant() ? KQuantGemmTest.activations(batch, cols, trial, rnd) : Encoded.gaussian(rnd, batch * cols);
                    float[] single = new float[rows];
                    for (int threads : new int[] {1, 3}) {
                        Parallel.setThreads(threads);
                        float[] out = new float[batch * rows];
                        java.util.Arrays.fill(out, Float.NaN); // overwritten, not added to
                        m.matmul(x, out, batch);
                        for (int t = 0; t < batch; t++) {
                            m.matvec(x, t * cols, single, 0);
                            for (int r = 0; r < rows; r++) {
                                assertEquals(Float.floatToRawIntBits(single[r]), Float.floatToRawIntBits(out[t * rows + r]),
                                        format + " " + rows + "x" + cols + " batch " + batch + " threads " + threads + " row " + r
                                                + " token " + t + " seed " + seed);
                            }
                        }
                    }
                }
            }
        } finally {
            Parallel.setThreads(initial);
        }
    }

    @Test
    void servesSmallBatchesOnlyWhereTheBatchOneKernelsArePaired() {
        assertFalse(TokenRows.serves(1, 13), "batch 1 is the matvec itself");
        assertFalse(TokenRows.serves(0, 13));
        boolean paired = PairLanes.ENABLED && KernelConfig.pairRows();
        int configured = KernelConfig.tokenRows();
        int max = configured < 0 ? 13 : configured;
        assertEquals(paired && max >= 2, TokenRows.serves(2, 13));
        assertEquals(paired && max >= 13, TokenRows.serves(13, 13));
        assertEquals(paired && configured >= 14, TokenRows.serves(14, 13));
    }

    @Test
    void q8_0StartsAtThreeTokensAndGoesFurtherOnWideRows() {
        boolean paired = PairLanes.ENABLED && KernelConfig.pairRows();
        int configured = KernelConfig.tokenRows();
        Q8_0Matrix narrow = (Q8_0Matrix) Encoded.random(WeightFormat.Q8_0, 4, 768, new Random(1)).matrix();
        Q8_0Matrix wide = (Q8_0Matrix) Encoded.random(WeightFormat.Q8_0, 4, 2048, new Random(2)).matrix();
        assertEquals(4, narrow.tokenRowsUpTo());
        assertEquals(8, wide.tokenRowsUpTo());
        for (int batch = 1; batch <= 10; batch++) {
            for (Q8_0Matrix m : new Q8_0Matrix[] {narrow, wide}) {
                boolean expected = configured < 0 ? batch >= 3 && batch <= m.tokenRowsUpTo() : batch >= 2 && batch <= configured;
                assertEquals(paired && expected, TokenRows.serves(batch, m.tokenRowsFrom(), m.tokenRowsUpTo()),
                        "batch " + batch + ", " + m.cols() + " columns");
            }
        }
    }
}
