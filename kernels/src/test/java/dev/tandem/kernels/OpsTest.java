package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Each op against ScalarOps and against a double-precision reference written here. */
class OpsTest {
    private static final double TOL = 2e-5;

    /** |a - b| <= tol * max(1, |b|) element-wise, with the seed in the message. */
    private static void close(double[] want, float[] got, int off, double tol, String what) {
        for (int i = 0; i < want.length; i++) {
            double t = tol * Math.max(1, Math.abs(want[i]));
            assertEquals(want[i], got[off + i], t, what + " at " + i);
        }
    }

    private static void close(float[] want, float[] got, double tol, String what) {
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], tol * Math.max(1, Math.abs(want[i])), what + " at " + i);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 33, 1001, 4096})
    void rmsnorm(int n) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        float[] x = Encoded.gaussian(rnd, n + 2);
        float[] w = Encoded.gaussian(rnd, n);
        float eps = 1e-5f;
        double ss = 0;
        for (int i = 0; i < n; i++) ss += (double) x[2 + i] * x[2 + i];
        double inv = 1 / Math.sqrt(ss / n + eps);
        double[] want = new double[n];
        for (int i = 0; i < n; i++) want[i] = x[2 + i] * inv * w[i];

        float[] vec = new float[n + 1];
        float[] sca = new float[n + 1];
        Ops.rmsnorm(vec, 1, x, 2, w, n, eps);
        ScalarOps.rmsnorm(sca, 1, x, 2, w, n, eps);
        close(want, vec, 1, TOL, "Ops.rmsnorm seed " + seed);
        close(want, sca, 1, TOL, "ScalarOps.rmsnorm seed " + seed);

        // out may alias x
        float[] inPlace = x.clone();
        Ops.rmsnorm(inPlace, 2, inPlace, 2, w, n, eps);
        close(want, inPlace, 2, TOL, "Ops.rmsnorm in place seed " + seed);
    }

    @ParameterizedTest
    @CsvSource({"1,2,0", "4,64,1", "3,10,4095", "8,128,100000"})
    void rope(int nHeads, int headDim, int pos) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        float[] v = Encoded.gaussian(rnd, 3 + nHeads * headDim);
        float[] invFreq = new float[headDim / 2];
        for (int i = 0; i < invFreq.length; i++) invFreq[i] = (float) Math.pow(10000, -2.0 * i / headDim);
        double[] want = new double[nHeads * headDim];
        for (int h = 0; h < nHeads; h++) {
            for (int i = 0; i < headDim / 2; i++) {
                int k = 3 + h * headDim + 2 * i;
                double a = pos * (double) invFreq[i];
                want[k - 3] = v[k] * Math.cos(a) - v[k + 1] * Math.sin(a);
                want[k - 2] = v[k] * Math.sin(a) + v[k + 1] * Math.cos(a);
            }
        }
        float[] vec = v.clone();
        float[] sca = v.clone();
        Ops.rope(vec, 3, nHeads, headDim, pos, invFreq);
        ScalarOps.rope(sca, 3, nHeads, headDim, pos, invFreq);
        close(want, vec, 3, 1e-6, "Ops.rope seed " + seed);
        close(want, sca, 3, 1e-6, "ScalarOps.rope seed " + seed);
        assertArrayEquals(Arrays.copyOf(v, 3), Arrays.copyOf(vec, 3), "rope wrote before off");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 33, 1001})
    void softmax(int n) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        float[] x = new float[n + 1];
        for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * 10 + 50); // large: needs the max shift
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, x[1 + i]);
        double sum = 0;
        double[] want = new double[n];
        for (int i = 0; i < n; i++) sum += want[i] = Math.exp(x[1 + i] - max);
        for (int i = 0; i < n; i++) want[i] /= sum;
        float[] vec = x.clone();
        float[] sca = x.clone();
        Ops.softmax(vec, 1, n);
        ScalarOps.softmax(sca, 1, n);
        close(want, vec, 1, TOL, "Ops.softmax seed " + seed);
        close(want, sca, 1, TOL, "ScalarOps.softmax seed " + seed);
        assertEquals(x[0], vec[0], "softmax wrote before off");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 33, 1001})
    void siluMul(int n) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        float[] g = new float[n + 1];
        for (int i = 0; i < g.length; i++) g[i] = (float) (rnd.nextGaussian() * 6);
        g[1] = -120f; // exp(-g) overflows to inf: silu must still give -0, not NaN
        float[] up = Encoded.gaussian(rnd, n + 2);
        double[] want = new double[n];
        for (int i = 0; i < n; i++) want[i] = g[1 + i] / (1 + Math.exp(-g[1 + i])) * up[2 + i];
        float[] vec = g.clone();
        float[] sca = g.clone();
        Ops.siluMul(vec, 1, up, 2, n);
        ScalarOps.siluMul(sca, 1, up, 2, n);
        close(want, vec, 1, TOL, "Ops.siluMul seed " + seed);
        close(want, sca, 1, TOL, "ScalarOps.siluMul seed " + seed);
    }

    /** An FFN row's silu must not depend on where the row sits in a batch of rows of odd width. */
    @ParameterizedTest
    @ValueSource(ints = {172, 33, 5})
    void siluMulOfABatchEqualsItPerRow(int width) {
        Random rnd = new Random(width);
        int rows = 7;
        float[] g = Encoded.gaussian(rnd, rows * width), up = Encoded.gaussian(rnd, rows * width);
        float[] batched = g.clone();
        Ops.siluMul(batched, 0, up, 0, rows * width);
        for (int b = 0; b < rows; b++) {
            float[] row = Arrays.copyOfRange(g, b * width, (b + 1) * width);
            Ops.siluMul(row, 0, Arrays.copyOfRange(up, b * width, (b + 1) * width), 0, width);
            assertArrayEquals(row, Arrays.copyOfRange(batched, b * width, (b + 1) * width), "row " + b + " of width " + width);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 33, 1001})
    void addInPlace(int n) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        float[] a = Encoded.gaussian(rnd, n + 1);
        float[] b = Encoded.gaussian(rnd, n + 3);
        float[] vec = a.clone();
        float[] sca = a.clone();
        Ops.addInPlace(vec, 1, b, 3, n);
        ScalarOps.addInPlace(sca, 1, b, 3, n);
        for (int i = 0; i < n; i++) {
            assertEquals(a[1 + i] + b[3 + i], vec[1 + i], "Ops.addInPlace seed " + seed); // one fp32 add: exact match
        }
        assertArrayEquals(sca, vec, "Ops vs ScalarOps seed " + seed);
    }

    @Test
    void argmax() {
        float[] x = {9f, 1f, 5f, 7f, 7f, 2f, 7f};
        assertEquals(2, Ops.argmax(x, 1, 6), "first of the tied maxima, relative to off");
        assertEquals(0, Ops.argmax(x, 0, 7));
        assertEquals(0, Ops.argmax(x, 5, 1));
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        float[] big = Encoded.gaussian(rnd, 32001);
        int want = 0;
        for (int i = 1; i < big.length; i++) if (big[i] > big[want]) want = i;
        assertEquals(want, Ops.argmax(big, 0, big.length), "seed " + seed);
        assertEquals(want, ScalarOps.argmax(big, 0, big.length), "seed " + seed);
        assertThrows(IllegalArgumentException.class, () -> Ops.argmax(x, 0, 0));
    }

    /** Double-precision attention for one query vector, the test's own reference. */
    private static double[] attentionRef(float[] q, int qOff, float[] k, float[] v, int kvOff,
                                         int nPos, int nHeads, int nKvHeads, int headDim) {
        int kvDim = nKvHeads * headDim;
        double[] out = new double[nHeads * headDim];
        for (int h = 0; h < nHeads; h++) {
            int kvh = h / (nHeads / nKvHeads);
            double[] s = new double[nPos];
            double max = Double.NEGATIVE_INFINITY;
            for (int p = 0; p < nPos; p++) {
                for (int d = 0; d < headDim; d++) {
                    s[p] += (double) q[qOff + h * headDim + d] * k[kvOff + p * kvDim + kvh * headDim + d];
                }
                s[p] /= Math.sqrt(headDim);
                max = Math.max(max, s[p]);
            }
            double sum = 0;
            for (int p = 0; p < nPos; p++) sum += s[p] = Math.exp(s[p] - max);
            for (int p = 0; p < nPos; p++) {
                for (int d = 0; d < headDim; d++) {
                    out[h * headDim + d] += s[p] / sum * v[kvOff + p * kvDim + kvh * headDim + d];
                }
            }
        }
        return out;
    }

    @ParameterizedTest(name = "nHeads {0} nKvHeads {1} headDim {2} nPos {3}")
    @CsvSource({"8,2,16,1", "8,4,16,1", "8,2,64,37", "8,4,64,37", "8,8,20,5", "8,2,128,301", "4,1,33,9"})
    void attention(int nHeads, int nKvHeads, int headDim, int nPos) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int maxSeq = nPos + 3;
        int kvOff = 5;
        float[] k = Encoded.gaussian(rnd, kvOff + maxSeq * nKvHeads * headDim);
        float[] v = Encoded.gaussian(rnd, kvOff + maxSeq * nKvHeads * headDim);
        float[] q = Encoded.gaussian(rnd, 2 + nHeads * headDim);
        double[] want = attentionRef(q, 2, k, v, kvOff, nPos, nHeads, nKvHeads, headDim);
        float[] vec = new float[1 + nHeads * headDim];
        float[] sca = new float[1 + nHeads * headDim];
        Ops.attention(vec, 1, q, 2, k, v, kvOff, nPos, nHeads, nKvHeads, headDim);
        ScalarOps.attention(sca, 1, q, 2, k, v, kvOff, nPos, nHeads, nKvHeads, headDim);
        close(want, vec, 1, 1e-4, "Ops.attention seed " + seed);
        close(want, sca, 1, 1e-4, "ScalarOps.attention seed " + seed);
    }

    @ParameterizedTest(name = "nHeads {0} nKvHeads {1} headDim {2} startPos {3} batch {4}")
    @CsvSource({"8,2,16,0,1", "8,4,16,0,7", "8,2,64,5,9", "8,4,64,30,17", "4,1,33,3,4", "8,2,128,0,64"})
    void attentionPrefillMatchesRepeatedSingleTokenAttention(int nHeads, int nKvHeads, int headDim, int startPos, int batch) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int kvDim = nKvHeads * headDim;
        int dim = nHeads * headDim;
        int kvOff = 3;
        int maxSeq = startPos + batch + 2;
        float[] k = Encoded.gaussian(rnd, kvOff + maxSeq * kvDim);
        float[] v = Encoded.gaussian(rnd, kvOff + maxSeq * kvDim);
        float[] q = Encoded.gaussian(rnd, batch * dim);
        float[] vec = new float[batch * dim];
        float[] sca = new float[batch * dim];
        Ops.attentionPrefill(vec, q, k, v, kvOff, startPos, batch, nHeads, nKvHeads, headDim);
        ScalarOps.attentionPrefill(sca, q, k, v, kvOff, startPos, batch, nHeads, nKvHeads, headDim);
        float[] one = new float[dim];
        for (int b = 0; b < batch; b++) {
            Ops.attention(one, 0, q, b * dim, k, v, kvOff, startPos + b + 1, nHeads, nKvHeads, headDim);
            String where = "token " + b + " seed " + seed;
            close(one, Arrays.copyOfRange(vec, b * dim, (b + 1) * dim), 1e-6, "prefill vs attention, " + where);
            double[] want = attentionRef(q, b * dim, k, v, kvOff, startPos + b + 1, nHeads, nKvHeads, headDim);
            close(want, sca, b * dim, 1e-4, "ScalarOps.attentionPrefill vs reference, " + where);
        }
    }

    @Test
    void attentionRejectsHeadCountsThatDoNotGroup() {
        float[] a = new float[64];
        assertThrows(IllegalArgumentException.class, () -> Ops.attention(a, 0, a, 0, a, a, 0, 1, 6, 4, 2));
        assertThrows(IllegalArgumentException.class, () -> ScalarOps.attention(a, 0, a, 0, a, a, 0, 1, 6, 4, 2));
    }
}
