package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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
    private static final BatchedKernelChecks.Kernel KERNEL = (ws, a, outs) -> assertTrue(RowLaneGemm.matmulEach(ws, a, outs));

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = WeightFormat.class, names = {"Q8_0", "Q4_0"})
    void everyBatchFrom1To40EqualsDotQ8BitForBit(WeightFormat format) {
        if (!IntDot.VECTOR || Vec.FL < 8) {
            return; // never dispatched here (serves is false there), checked below
        }
        BatchedKernelChecks.everyBatchFrom1To40(KERNEL, format, new int[] {3, 16, 17, 37, 32, 70});
    }

    @Test
    void holdsTheLargestLanesExactly() {
        if (!IntDot.VECTOR || Vec.FL < 8) {
            return;
        }
        BatchedKernelChecks.holdsTheLargestLanesExactly(KERNEL, 19, 21);
    }

    @Test
    void matmulEachEqualsSeparateMatmuls() {
        if (!IntDot.VECTOR || Vec.FL < 8) {
            return;
        }
        BatchedKernelChecks.matmulEachEqualsSeparateMatmuls(KERNEL);
    }

    /**
     * The packed activations live in a buffer each calling thread reuses: threads calling at once, each
     * with its own shapes (a large batch, then smaller ones), still get every value of their own dotQ8.
     */
    @Test
    void concurrentCallersEachKeepTheirOwnPackedActivations() throws Exception {
        if (!IntDot.VECTOR || Vec.FL < 8) {
            return;
        }
        long seed = new Random().nextLong();
        ExecutorService callers = Executors.newFixedThreadPool(3);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int c = 0; c < 3; c++) {
                int caller = c;
                done.add(callers.submit(() -> {
                    Random rnd = new Random(seed + caller);
                    for (int call = 0; call < 12; call++) {
                        int batch = 23 - call - caller, rows = 17 + caller, cols = new int[] {96, 160, 2080}[(call + caller) % 3];
                        Q8_0Matrix m = (Q8_0Matrix) Encoded.random(WeightFormat.Q8_0, rows, cols, rnd).matrix();
                        Q8Activations a = BatchedKernelChecks.activations(rnd, batch, cols);
                        float[] out = new float[batch * rows];
                        KERNEL.matmulEach(new IntDot.Format[] {m}, a, new float[][] {out});
                        for (int t = 0; t < batch; t++) {
                            for (int r = 0; r < rows; r++) {
                                assertEquals(Float.floatToRawIntBits(m.dotQ8(r, a, t)), Float.floatToRawIntBits(out[t * rows + r]),
                                        "caller " + caller + " call " + call + " row " + r + " token " + t + " seed " + seed);
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            callers.shutdownNow();
        }
    }

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
        boolean nibbles = format == WeightFormat.Q4_0 && KernelConfig.rowLaneNibbles();
        assertEquals(nibbles, c.nibbles);
        assertEquals(rowVectors * fl * cols / (nibbles ? 2 : 1), c.q.length);
        for (int row = 0; row < rowVectors * fl; row++) {
            double[] ref = row < rows ? enc.row(row) : new double[cols];
            int v = row / fl, i = row % fl;
            for (int j = 0; j < cols; j++) {
                int b = j / 32, m = j % 32, k = (m % 16) / 2, e = (m & 1) + (m >= 16 ? 2 : 0);
                int value = nibbles
                        ? c.q[(((v * 8 + k) * blocks + b) * 2 + e / 2) * fl + i] << (e % 2 == 0 ? 28 : 24) >> 28
                        : c.q[(((v * 8 + k) * blocks + b) * 4 + e) * fl + i];
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
