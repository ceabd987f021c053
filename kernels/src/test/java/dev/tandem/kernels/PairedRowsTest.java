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

    /**
     * Q4_0's copy in column segments (at most 2 blocks here, so 3 and 5 blocks give uneven segments):
     * the pairs run one segment at a time with their accumulators in memory, every row range still
     * equal to the scalar reference bit for bit.
     */
    @Test
    void q4_0RowsInColumnSegmentsEqualTheScalarReferenceBitForBit() {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        for (int cols : new int[] {96, 160}) {
            for (int rows : new int[] {7, 10}) {
                Q4_0Matrix m = ((Q4_0Matrix) Encoded.random(WeightFormat.Q4_0, rows, cols, rnd).matrix()).segmentedAt(2);
                Q8Activations a = Q8Activations.quantize(Encoded.gaussian(rnd, cols), 0, 1, cols);
                for (int start = 0; start <= rows; start++) {
                    for (int end = start; end <= rows; end++) {
                        float[] out = new float[rows + 2];
                        java.util.Arrays.fill(out, Float.NaN);
                        m.dotRows(start, end, a, 0, out, 1);
                        for (int r = 0; r < rows; r++) {
                            String where = rows + "x" + cols + " rows [" + start + ", " + end + ") row " + r + " seed " + seed;
                            if (r >= start && r < end) {
                                assertEquals(Float.floatToRawIntBits(m.dotQ8Scalar(r, a, 0)), Float.floatToRawIntBits(out[1 + r]), where);
                            } else {
                                assertTrue(Float.isNaN(out[1 + r]), where + ": written outside the range");
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void segmentsSplitRowsEvenlyAndEveryBlockHasOneSlot() {
        assertEquals(88, PairedRows.segmentFor(176, 96));
        assertEquals(64, PairedRows.segmentFor(64, 96));
        assertEquals(86, PairedRows.segmentFor(344, 96));
        assertEquals(2, PairedRows.segmentFor(3, 2));
        java.lang.foreign.MemorySegment data = java.lang.foreign.Arena.ofAuto().allocate(5L * 7 * 18);
        for (int segment : new int[] {1, 2, 3, 7}) {
            PairedRows pr = PairedRows.of(data, 5, 7, 18, 16, segment);
            boolean[] seen = new boolean[3 * 7];
            for (int p = 0; p < 3; p++) {
                for (int b = 0; b < 7; b++) {
                    int at = pr.index(p, b);
                    assertFalse(seen[at], "segment " + segment + ": pair " + p + " block " + b + " shares slot " + at);
                    seen[at] = true;
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void kQuantBatchOneRowRangesEqualTheScalarRowDotBitForBit(WeightFormat format) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int rows = 7;
        // 3 super-blocks a row (an odd short row: one block at a time), 2 (Q4_K two a step), 11 (odd: a last step of one)
        for (int cols : new int[] {768, 512, 2816}) {
            rangesEqualTheScalarRowDot(format, rows, cols, rnd, seed);
        }
    }

    /**
     * The paired copy is made on the pool in chunks of rows, each chunk with its own scratch: a copy of 101
     * rows (chunks of 16 over every thread the pool has, two on the CI machine) still gives every row the
     * scalar row dot's bits. Copies sharing one scratch across threads fail this.
     */
    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"Q4_K", "Q5_K", "Q6_K"})
    void aCopyMadeOnThePoolGivesEveryRowItsBits(WeightFormat format) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int rows = 101, cols = 1024;
        KQuantMatrix m = (KQuantMatrix) Encoded.random(format, rows, cols, rnd).matrix();
        Q8_KActivations a = Q8_KActivations.quantize(Encoded.gaussian(rnd, cols), 0, cols);
        float[] out = new float[rows];
        m.rowsTask(a, 1, out, 0).run(0, rows); // the first batch-1 call: makes the copy, from this (non-pool) thread
        for (int r = 0; r < rows; r++) {
            assertEquals(Float.floatToRawIntBits(m.rowDot(r, a, 0, false)), Float.floatToRawIntBits(out[r]),
                    format + " row " + r + " of " + rows + " threads " + Parallel.threads() + " seed " + seed);
        }
    }

    private static void rangesEqualTheScalarRowDot(WeightFormat format, int rows, int cols, Random rnd, long seed) {
        KQuantMatrix m = (KQuantMatrix) Encoded.random(format, rows, cols, rnd).matrix();
        Q8_KActivations a = Q8_KActivations.quantize(Encoded.gaussian(rnd, cols), 0, cols);
        for (int start = 0; start <= rows; start++) {
            for (int end = start; end <= rows; end++) {
                float[] out = new float[rows + 2];
                java.util.Arrays.fill(out, Float.NaN);
                m.rowsTask(a, 1, out, 1).run(start, end);
                for (int r = 0; r < rows; r++) {
                    String where = format + " " + rows + "x" + cols + " rows [" + start + ", " + end + ") row " + r + " seed " + seed;
                    if (r >= start && r < end) {
                        assertEquals(Float.floatToRawIntBits(m.rowDot(r, a, 0, false)), Float.floatToRawIntBits(out[1 + r]), where);
                    } else {
                        assertTrue(Float.isNaN(out[1 + r]), where + ": written outside the range");
                    }
                }
            }
        }
    }

    /**
     * Q6_K's 512-bit kernel adds 4 products per 16-bit lane and two lanes into an int: with every
     * weight at an end of its range (q - 32 = -32 or 31), scales at +-127 and -128 and every activation
     * at +-127, each lane pair is at its largest magnitude (8 * 32 * 127 = 32512), and the single rows, the row
     * pairs and the small batches (TokenRows) still equal the scalar row dot.
     */
    @Test
    void q6KLaneSumsAtTheirExtremesEqualTheScalarRowDot() {
        int rows = 5, cols = 512, blockBytes = 210;
        for (int bits : new int[] {0x00, 0xFF}) {
            for (int scale : new int[] {127, -128}) {
                java.lang.foreign.MemorySegment seg = java.lang.foreign.Arena.ofAuto().allocate((long) rows * (cols / 256) * blockBytes);
                for (long o = 0; o < seg.byteSize(); o += blockBytes) {
                    for (int i = 0; i < 192; i++) {
                        seg.set(java.lang.foreign.ValueLayout.JAVA_BYTE, o + i, (byte) bits);
                    }
                    for (int i = 0; i < 16; i++) {
                        seg.set(java.lang.foreign.ValueLayout.JAVA_BYTE, o + 192 + i, (byte) (i % 3 == 2 ? -127 : scale));
                    }
                    seg.set(Vec.SHORT_LE, o + 208, (short) 0x3C00);
                }
                KQuantMatrix m = (KQuantMatrix) WeightMatrix.of(WeightFormat.Q6_K, seg, rows, cols);
                for (float sign : new float[] {1f, -1f}) {
                    float[] x = new float[3 * cols];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = i >= cols && i % 5 == 0 ? -sign : sign; // token 0 all one sign, the others mixed
                    }
                    for (int batch : new int[] {1, 3}) {
                        Q8_KActivations a = Q8_KActivations.quantize(x, 0, batch * cols);
                        float[] out = new float[batch * rows];
                        m.rowsTask(a, batch, out, 0).run(0, rows);
                        for (int b = 0; b < batch; b++) {
                            for (int r = 0; r < rows; r++) {
                                assertEquals(Float.floatToRawIntBits(m.rowDot(r, a, b * cols / 256, false)),
                                        Float.floatToRawIntBits(out[b * rows + r]),
                                        "bits " + bits + " scale " + scale + " sign " + sign + " batch " + batch + " token " + b + " row " + r);
                            }
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
