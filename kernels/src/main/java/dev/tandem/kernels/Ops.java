package dev.tandem.kernels;

/**
 * The transformer's non-matmul ops on F32 activations (Vector API where it pays), each matching
 * {@link ScalarOps}. Arrays carry explicit offsets so callers can work inside batched buffers.
 *
 * CONTRACT (skeleton; the kernels work fills it in; ScalarOps has the same signatures):
 */
public final class Ops {
    private Ops() {}

    /** out[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i], i in [0,n). out may alias x. */
    public static void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        throw new UnsupportedOperationException("TODO");
    }

    /**
     * Rotates adjacent pairs (2i, 2i+1) of each of nHeads heads of headDim values at vec[off..]
     * by angle pos * invFreq[i] (i in [0, headDim/2)); the angle and its cos/sin are computed in double.
     */
    public static void rope(float[] vec, int off, int nHeads, int headDim, int pos, float[] invFreq) {
        throw new UnsupportedOperationException("TODO");
    }

    /** In-place numerically stable softmax of x[off, off+n). */
    public static void softmax(float[] x, int off, int n) {
        throw new UnsupportedOperationException("TODO");
    }

    /** gate[i] = silu(gate[i]) * up[i], i in [0,n); silu(v) = v / (1 + exp(-v)). */
    public static void siluMul(float[] gate, int gOff, float[] up, int uOff, int n) {
        throw new UnsupportedOperationException("TODO");
    }

    /** a[aOff+i] += b[bOff+i] (the residual). */
    public static void addInPlace(float[] a, int aOff, float[] b, int bOff, int n) {
        throw new UnsupportedOperationException("TODO");
    }

    /**
     * Causal GQA attention for one query position over a KV cache.
     * q:          [nHeads * headDim] at qOff
     * keyCache:   [maxSeq][nKvHeads * headDim] at kvOff (positions 0..nPos-1 are valid)
     * valueCache: same layout as keyCache
     * out:        [nHeads * headDim] at outOff
     * Query head h uses kv head h / (nHeads / nKvHeads); scores scaled by 1/sqrt(headDim).
     */
    public static void attention(float[] out, int outOff, float[] q, int qOff,
                                 float[] keyCache, float[] valueCache, int kvOff,
                                 int nPos, int nHeads, int nKvHeads, int headDim) {
        throw new UnsupportedOperationException("TODO");
    }

    /** Index of the largest of x[off, off+n); the first one on ties. */
    public static int argmax(float[] x, int off, int n) {
        throw new UnsupportedOperationException("TODO");
    }
}
