package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The batched cold-start twin ({@link TwinGemm}): every value dotQ8Scalar's (and dotQ8's) bit for bit,
 * at every batch and with the largest lanes each packed field must hold, and through IntDot's dispatch.
 */
class TwinGemmTest {
    @AfterEach
    void vectorFormsAgain() {
        ColdStart.resetAll(0);
    }

    /** TwinGemm over all rows of each matrix, packed once per matrix. */
    private static void twin(IntDot.Format[] ws, Q8Activations a, float[][] outs) {
        for (int i = 0; i < ws.length; i++) {
            TwinGemm.rows(ws[i], 0, ws[i].rows(), TwinGemm.pack(ws[i], a), a.rows(), outs[i]);
        }
    }

    @Test
    void q8_0EqualsTheScalarReferenceAtEveryBatch() {
        BatchedKernelChecks.everyBatchFrom1To40(TwinGemmTest::twin, WeightFormat.Q8_0, new int[] {1, 7, 16, 33});
    }

    @Test
    void q4_0EqualsTheScalarReferenceAtEveryBatch() {
        BatchedKernelChecks.everyBatchFrom1To40(TwinGemmTest::twin, WeightFormat.Q4_0, new int[] {1, 7, 16, 33});
    }

    @Test
    void q8_0FieldsHoldTheLargestLanes() {
        for (int batch : new int[] {2, 3, 4, 5, 7}) { // full and partial groups of three
            BatchedKernelChecks.holdsTheLargestLanesExactly(TwinGemmTest::twin, 5, batch);
        }
    }

    /**
     * Q4_0's extreme nibbles ({@link BatchedKernelChecks#extremeNibblesQ4_0}) against tokens that are,
     * in turn, all +127, all -127 and alternating: lanes of +-4,064 of opposite signs in neighbouring
     * fields of one long, where a wrong field width or a lost borrow between fields shows.
     */
    @Test
    void q4_0FieldsHoldTheLargestLanes() {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int rows = 10, cols = 64;
        for (int batch = 4; batch <= 12; batch++) { // one to three groups of four, the last partial or full
            Q4_0Matrix m = BatchedKernelChecks.extremeNibblesQ4_0(rnd, rows, cols);
            float[] x = new float[batch * cols];
            for (int i = 0; i < x.length; i++) {
                x[i] = switch ((i / cols) % 3) {
                    case 0 -> 3f;
                    case 1 -> -3f;
                    default -> (i & 1) == 0 ? -3f : 3f;
                };
            }
            Q8Activations a = Q8Activations.quantize(x, 0, batch, cols);
            assertEquals(-127, a.q(1, 0));
            float[] out = new float[batch * rows];
            twin(new IntDot.Format[] {m}, a, new float[][] {out});
            for (int t = 0; t < batch; t++) {
                for (int r = 0; r < rows; r++) {
                    assertEquals(Float.floatToRawIntBits(m.dotQ8Scalar(r, a, t)), Float.floatToRawIntBits(out[t * rows + r]),
                            "batch " + batch + " token " + t + " row " + r + ", seed " + seed);
                }
            }
        }
    }

    /**
     * Through the dispatch, with the twins on: a mixed Q8_0/Q4_0 matmulEach (two packings) and single
     * matmuls run TwinGemm and give the vector forms' bits.
     */
    @Test
    void coldDispatchRunsItWithTheVectorFormsBits() {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int cols = 160;
        for (int batch : new int[] {2, 5, 16}) {
            WeightMatrix[] ms = {
                    Encoded.random(WeightFormat.Q8_0, 37, cols, rnd).matrix(),
                    Encoded.random(WeightFormat.Q4_0, 9, cols, rnd).matrix(),
                    Encoded.random(WeightFormat.Q8_0, 16, cols, rnd).matrix()};
            float[] x = Encoded.gaussian(rnd, batch * cols);
            float[][] vector = outs(ms, batch), twin = outs(ms, batch);
            ColdStart.resetAll(0);
            WeightMatrix.matmulEach(ms, x, vector, batch);
            ColdStart.resetAll(Integer.MAX_VALUE);
            WeightMatrix.matmulEach(ms, x, twin, batch);
            float[] single = new float[batch * ms[1].rows()];
            ms[1].matmul(x, single, batch);
            // twins exist where vector forms do (the scalar JVM runs the scalar reference throughout)
            assertEquals(IntDot.VECTOR && KernelConfig.integerDot() ? 2 : 0, ColdStart.MATMULS.calls(), "calls run as twins: " + ColdStart.MATMULS);
            ColdStart.resetAll(0);
            for (int i = 0; i < ms.length; i++) {
                assertEquals(Arrays.toString(bits(vector[i])), Arrays.toString(bits(twin[i])), "matrix " + i + " batch " + batch + " seed " + seed);
            }
            assertEquals(Arrays.toString(bits(vector[1])), Arrays.toString(bits(single)), "matmul, batch " + batch + " seed " + seed);
        }
    }

    private static float[][] outs(WeightMatrix[] ms, int batch) {
        float[][] outs = new float[ms.length][];
        for (int i = 0; i < ms.length; i++) {
            outs[i] = new float[batch * ms[i].rows()];
            Arrays.fill(outs[i], Float.NaN);
        }
        return outs;
    }

    private static int[] bits(float[] v) {
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = Float.floatToRawIntBits(v[i]);
        }
        return b;
    }
}
