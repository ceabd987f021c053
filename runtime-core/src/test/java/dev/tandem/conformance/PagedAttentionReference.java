package dev.tandem.conformance;

import dev.tandem.kernels.ScalarOps;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.device.AttentionWeights;
import dev.tandem.runtime.model.LlamaConfig;

/**
 * The scalar host reference of a paged attention block: each sequence keeps its keys and values in
 * one contiguous cache, as the single-sequence reference does, so the pool's layout plays no part.
 */
final class PagedAttentionReference {
    /** One matmul output as the device under test should compute it (the suite's referenceDot). */
    interface Dot {
        float dot(WeightMatrix m, int row, float[] x, int xOff);
    }

    /** The rmsnorm before the matmuls as the device under test computes it (the suite's referenceRmsnorm). */
    interface Norm {
        void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps);
    }

    private final AttentionWeights w;
    private final Dot dot;
    private final Norm norm;
    private final float[][] keys, values; // per sequence (maxPositions, kvDim)

    PagedAttentionReference(AttentionWeights w, Dot dot, Norm norm, int sequences, int maxPositions) {
        this.w = w;
        this.dot = dot;
        this.norm = norm;
        int kvDim = w.config().kvDim();
        keys = new float[sequences][maxPositions * kvDim];
        values = new float[sequences][maxPositions * kvDim];
    }

    /** x after the block, for rows of sequence seq[i] at position pos[i]. */
    float[] step(float[] x, int[] seq, int[] pos) {
        LlamaConfig c = w.config();
        int batch = seq.length, dim = c.dim(), kvDim = c.kvDim(), hd = c.headDim(), qDim = c.nHeads() * hd;
        float[] n = new float[batch * dim];
        for (int b = 0; b < batch; b++) {
            norm.rmsnorm(n, b * dim, x, b * dim, w.norm(), dim, c.rmsEps());
        }
        float[] q = matmul(w.wq(), n, batch), k = matmul(w.wk(), n, batch), v = matmul(w.wv(), n, batch);
        for (int b = 0; b < batch; b++) {
            w.qkvOptions(q, b * qDim, k, b * kvDim, v, b * kvDim); // biases and QK-norm, where the architecture has them
            ScalarOps.rope(q, b * qDim, c.nHeads(), hd, pos[b], w.ropeInvFreq());
            ScalarOps.rope(k, b * kvDim, c.nKvHeads(), hd, pos[b], w.ropeInvFreq());
            System.arraycopy(k, b * kvDim, keys[seq[b]], pos[b] * kvDim, kvDim);
            System.arraycopy(v, b * kvDim, values[seq[b]], pos[b] * kvDim, kvDim);
        }
        float[] att = new float[batch * qDim];
        for (int b = 0; b < batch; b++) {
            ScalarOps.attention(att, b * qDim, q, b * qDim, keys[seq[b]], values[seq[b]], 0, pos[b] + 1,
                    c.nHeads(), c.nKvHeads(), hd);
        }
        float[] out = x.clone();
        ScalarOps.addInPlace(out, 0, matmul(w.wo(), att, batch), 0, batch * dim);
        return out;
    }

    /** Sequence seq's keys (or values) at positions [0, count). */
    float[] keys(int seq, int count) { return java.util.Arrays.copyOf(keys[seq], count * w.config().kvDim()); }

    float[] values(int seq, int count) { return java.util.Arrays.copyOf(values[seq], count * w.config().kvDim()); }

    private float[] matmul(WeightMatrix m, float[] x, int batch) {
        float[] y = new float[batch * m.rows()];
        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < m.rows(); r++) {
                y[b * m.rows() + r] = dot.dot(m, r, x, b * m.cols());
            }
        }
        return y;
    }
}
