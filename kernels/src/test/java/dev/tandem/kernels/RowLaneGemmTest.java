package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link RowLaneGemm} (rows in a vector's lanes, tokens broadcast): every (row, token) is dotQ8's and
 * the scalar reference's bit for bit, called directly (vector JVMs of 256 bits and more) for batches 1
 * to 40 (ragged 4-token tiles), on row counts that fill no row vector, one, a register tile and a
 * ragged one, odd block counts and a long row, at 1 and 3 threads; the largest integer lanes;
 * matmulEach equals separate matmuls; the copy's layout; and the dispatch's range.
 */
class RowLaneGemmTest {
    private static Q8Activations activations(Random rnd, int rows, int cols) {
        float[] x = Encoded.gaussian(rnd, rows * cols);
        for (int i = 0; i < x.length; i++) {
            x[i] *= (float) Math.pow(2, rnd.nextInt(9) - 4);
        }
        if (rows * cols >= 64) {
            java.util.Arrays.fill(x, 32, 64, 0f); // an all-zero block: scale 0
        }
        return Q8Activations.quantize(x, 0, rows, cols);
    }

    private static float dotQ8(WeightMatrix m, int r, Q8Activations a, int t) {
        return m instanceof Q8_0Matrix q8 ? q8.dotQ8(r, a, t) : ((Q4_0Matrix) m).dotQ8(r, a, t);
    }

    private static float dotQ8Scalar(WeightMatrix m, int r, Q8Activations a, int t) {
        return m instanceof Q8_0Matrix q8 ? q8.dotQ8Scalar(r, a, t) : ((Q4_0Matrix) m).dotQ8Scalar(r, a, t);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = WeightFormat.class, names = {"Q8_0", "Q4_0"})
    void everyBatchFrom1To40EqualsDotQ8BitForBit(WeightFormat format) {
        if (!IntDot.VECTOR || Vec.FL < 8) {
            return; // the scalar and 128-bit JVMs never dispatch here (serves is false), checked below
        }
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int initial = Parallel.threads();
        try {
            for (int batch = 1; batch <= 40; batch++) {
                int rows = new int[] {3, 16, 17, 37, 32, 70}[batch % 6];
                int cols = new int[] {32, 96, 160, 2080}[(batch / 4) % 4];
                WeightMatrix m = Encoded.random(format, rows, cols, rnd).matrix();
                Q8Activations a = activations(rnd, batch, cols);
                for (int threads : new int[] {1, 3}) {
                    Parallel.setThreads(threads);
                    float[] out = new float[batch * rows];
                    java.util.Arrays.fill(out, Float.NaN); // every entry must be written
                    assertTrue(RowLaneGemm.matmul((IntDot.Format) m, a, out));
                    for (int t = 0; t < batch; t++) {
                        for (int r = 0; r < rows; r++) {
                            String where = format + " " + rows + "x" + cols + " batch " + batch + " threads " + threads
                                    + " row " + r + " token " + t + " seed " + seed;
                            assertEquals(Float.floatToRawIntBits(dotQ8Scalar(m, r, a, t)), Float.floatToRawIntBits(out[t * rows + r]), where);
                            assertEquals(Float.floatToRawIntBits(dotQ8(m, r, a, t)), Float.floatToRawIntBits(out[t * rows + r]), where + " (dotQ8)");
                        }
                    }
                }
            }
        } finally {
            Parallel.setThreads(initial);
        }
    }

    /** Q8_0 weights at -128/127 against activations at +-127 (the largest lanes), f16 scales 2^-14 to 2^15. */
    @Test
    void holdsTheLargestLanesExactly() {
        if (!IntDot.VECTOR || Vec.FL < 8) {
            return;
        }
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int rows = 19, cols = 96, batch = 21, blocks = cols / 32;
        for (int trial = 0; trial < 6; trial++) {
            java.lang.foreign.MemorySegment seg = java.lang.foreign.Arena.ofAuto().allocate((long) rows * blocks * 34 + 1).asSlice(1);
            for (int b = 0; b < rows * blocks; b++) {
                long o = b * 34L;
                seg.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, o, Float.floatToFloat16((float) Math.pow(2, rnd.nextInt(30) - 14)));
                for (int k = 0; k < 32; k++) {
                    int q = switch (trial % 3) {
                        case 0 -> -128;
                        case 1 -> (k & 1) == 0 ? -128 : 127;
                        default -> rnd.nextBoolean() ? -128 : 127;
                    };
                    seg.set(java.lang.foreign.ValueLayout.JAVA_BYTE, o + 2 + k, (byte) q);
                }
            }
            Q8_0Matrix m = (Q8_0Matrix) WeightMatrix.of(WeightFormat.Q8_0, seg, rows, cols);
            float[] x = new float[batch * cols];
            for (int i = 0; i < x.length; i++) {
                x[i] = trial < 3 ? 1f : ((i & 1) == 0 ? -2.5f : 2.5f);
            }
            Q8Activations a = Q8Activations.quantize(x, 0, batch, cols);
            assertEquals(127, Math.abs(a.q(0, 1)));
            float[] out = new float[batch * rows];
            assertTrue(RowLaneGemm.matmul(m, a, out));
            for (int t = 0; t < batch; t++) {
                for (int r = 0; r < rows; r++) {
                    assertEquals(Float.floatToRawIntBits(m.dotQ8Scalar(r, a, t)), Float.floatToRawIntBits(out[t * rows + r]),
                            "trial " + trial + " token " + t + " row " + r + ", seed " + seed);
                }
            }
        }
    }

    /** A layer's Q, K, V in one call: each value what the matrix's own matmul gives, bit for bit. */
    @Test
    void matmulEachEqualsSeparateMatmuls() {
        if (!IntDot.VECTOR || Vec.FL < 8) {
            return;
        }
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int cols = 160;
        for (int batch : new int[] {3, 16, 19}) {
            WeightMatrix[] ms = {
                    Encoded.random(WeightFormat.Q8_0, 67, cols, rnd).matrix(),
                    Encoded.random(WeightFormat.Q4_0, 5, cols, rnd).matrix(),
                    Encoded.random(WeightFormat.Q8_0, 16, cols, rnd).matrix()};
            IntDot.Format[] ws = new IntDot.Format[ms.length];
            float[][] outs = new float[ms.length][];
            for (int i = 0; i < ms.length; i++) {
                ws[i] = (IntDot.Format) ms[i];
                outs[i] = new float[batch * ms[i].rows()];
            }
            Q8Activations a = activations(rnd, batch, cols);
            assertTrue(RowLaneGemm.matmulEach(ws, a, outs));
            for (int i = 0; i < ms.length; i++) {
                float[] alone = new float[batch * ms[i].rows()];
                assertTrue(RowLaneGemm.matmul(ws[i], a, alone));
                for (int k = 0; k < alone.length; k++) {
                    assertEquals(Float.floatToRawIntBits(alone[k]), Float.floatToRawIntBits(outs[i][k]),
                            "matrix " + i + " batch " + batch + " index " + k + ", seed " + seed);
                }
            }
        }
    }

    /** Every weight of the copy, rows past the end included, where RowLaneCopy's comment says, against Encoded's decoder. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = WeightFormat.class, names = {"Q8_0", "Q4_0"})
    void theCopyHoldsEachWeightWhereItsLayoutSays(WeightFormat format) {
        if (!IntDot.VECTOR || Vec.FL < 8) {
            return;
        }
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int rows = 37, cols = 96, blocks = cols / 32, fl = Vec.FL;
        int rowVectors = (rows + RowLaneGemm.GROUP - 1) / RowLaneGemm.GROUP * RowLaneGemm.RV;
        Encoded enc = Encoded.random(format, rows, cols, rnd);
        RowLaneCopy c = RowLaneCopy.of((IntDot.Format) enc.matrix(), rowVectors);
        assertEquals(rowVectors * fl * cols, c.q.length);
        for (int row = 0; row < rowVectors * fl; row++) {
            double[] ref = row < rows ? enc.row(row) : new double[cols];
            int v = row / fl, i = row % fl;
            for (int j = 0; j < cols; j++) {
                int b = j / 32, m = j % 32, k = (m % 16) / 2, e = (m & 1) + (m >= 16 ? 2 : 0);
                int value = c.q[(((v * 8 + k) * blocks + b) * 4 + e) * fl + i];
                assertEquals(ref[j], value * (double) c.d[(v * blocks + b) * fl + i], 0.0,
                        format + " row " + row + " column " + j + ", seed " + seed);
            }
        }
    }

    @Test
    void servesEveryBatchFromTwoOnWideVectors() {
        boolean on = IntDot.VECTOR && Vec.FL >= 8 && KernelConfig.rowLanes();
        assertTrue(!RowLaneGemm.serves(1) && !RowLaneGemm.serves(0));
        for (int batch : new int[] {2, 3, 4, 5, 16, 17, 64, 65, 256}) {
            assertEquals(on, RowLaneGemm.serves(batch), "batch " + batch);
        }
    }
}
