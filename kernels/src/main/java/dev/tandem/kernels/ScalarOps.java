package dev.tandem.kernels;

/**
 * Plain-loop references for {@link Ops}, with the same signatures and contracts: single-threaded,
 * no Vector API, written for obviousness rather than speed. Tests compare {@link Ops} against these.
 */
public final class ScalarOps {
    private ScalarOps() {}

    public static void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        float ss = 0f;
        for (int i = 0; i < n; i++) {
            ss += x[xOff + i] * x[xOff + i];
        }
        float inv = (float) (1.0 / Math.sqrt(ss / n + eps));
        for (int i = 0; i < n; i++) {
            out[outOff + i] = x[xOff + i] * inv * weight[i];
        }
    }

    public static void rope(float[] vec, int off, int nHeads, int headDim, int pos, float[] invFreq) {
        int half = headDim / 2;
        for (int i = 0; i < half; i++) {
            double angle = pos * (double) invFreq[i];
            double cos = Math.cos(angle);
            double sin = Math.sin(angle);
            for (int h = 0; h < nHeads; h++) {
                int k = off + h * headDim + 2 * i;
                double a = vec[k];
                double b = vec[k + 1];
                vec[k] = (float) (a * cos - b * sin);
                vec[k + 1] = (float) (a * sin + b * cos);
            }
        }
    }

    public static void softmax(float[] x, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(x[off + i] - max);
            x[off + i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int i = 0; i < n; i++) {
            x[off + i] *= inv;
        }
    }

    public static void siluMul(float[] gate, int gOff, float[] up, int uOff, int n) {
        for (int i = 0; i < n; i++) {
            float g = gate[gOff + i];
            gate[gOff + i] = g / (1f + (float) Math.exp(-g)) * up[uOff + i];
        }
    }

    public static void addInPlace(float[] a, int aOff, float[] b, int bOff, int n) {
        for (int i = 0; i < n; i++) {
            a[aOff + i] += b[bOff + i];
        }
    }

    public static void attention(float[] out, int outOff, float[] q, int qOff,
                                 float[] keyCache, float[] valueCache, int kvOff,
                                 int nPos, int nHeads, int nKvHeads, int headDim) {
        int group = Ops.checkHeads(nHeads, nKvHeads);
        int kvDim = nKvHeads * headDim;
        float scale = (float) (1.0 / Math.sqrt(headDim));
        float[] scores = new float[nPos];
        for (int h = 0; h < nHeads; h++) {
            int qh = qOff + h * headDim;
            int kvh = kvOff + (h / group) * headDim;
            for (int p = 0; p < nPos; p++) {
                float s = 0f;
                for (int d = 0; d < headDim; d++) {
                    s += q[qh + d] * keyCache[kvh + p * kvDim + d];
                }
                scores[p] = s * scale;
            }
            softmax(scores, 0, nPos);
            int oh = outOff + h * headDim;
            for (int d = 0; d < headDim; d++) {
                float o = 0f;
                for (int p = 0; p < nPos; p++) {
                    o += scores[p] * valueCache[kvh + p * kvDim + d];
                }
                out[oh + d] = o;
            }
        }
    }

    /** See {@link Ops#attentionPrefill}: token b attends positions 0..startPos+b. */
    public static void attentionPrefill(float[] out, float[] q, float[] keyCache, float[] valueCache, int kvOff,
                                        int startPos, int batch, int nHeads, int nKvHeads, int headDim) {
        int dim = nHeads * headDim;
        for (int b = 0; b < batch; b++) {
            attention(out, b * dim, q, b * dim, keyCache, valueCache, kvOff,
                    startPos + b + 1, nHeads, nKvHeads, headDim);
        }
    }

    /**
     * See {@link Ops#attentionPaged}: each row's sequence positions are gathered into a contiguous
     * cache and attended as {@link #attention} does.
     */
    public static void attentionPaged(float[] out, float[] q, float[] keyCache, float[] valueCache,
                                      int[] positions, int[][] tables, int blockSize,
                                      int nHeads, int nKvHeads, int headDim) {
        Ops.checkHeads(nHeads, nKvHeads);
        int dim = nHeads * headDim;
        int kvDim = nKvHeads * headDim;
        for (int i = 0; i < positions.length; i++) {
            int nPos = positions[i] + 1;
            int[] offsets = Ops.pagedRowOffsets(tables[i], blockSize, nPos, kvDim);
            float[] keys = new float[nPos * kvDim], values = new float[nPos * kvDim];
            for (int p = 0; p < nPos; p++) {
                System.arraycopy(keyCache, offsets[p], keys, p * kvDim, kvDim);
                System.arraycopy(valueCache, offsets[p], values, p * kvDim, kvDim);
            }
            attention(out, i * dim, q, i * dim, keys, values, 0, nPos, nHeads, nKvHeads, headDim);
        }
    }

    public static int argmax(float[] x, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (x[off + i] > x[off + best]) {
                best = i;
            }
        }
        return best;
    }
}
