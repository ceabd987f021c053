package dev.tandem.runtime.device;

import dev.tandem.kernels.Ops;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.model.LlamaConfig;

/**
 * One attention block on the host, ready to upload with {@link Device#uploadAttention}: the Llama
 * block, plus what an architecture's options add between the projections and the rotation (see
 * {@link #qkvOptions}).
 *
 * @param config      the model's hyper-parameters (widths, heads, eps, options)
 * @param wq          (qDim = nHeads*headDim, dim)
 * @param wk          (kvDim, dim)
 * @param wv          (kvDim, dim)
 * @param wo          (dim, qDim)
 * @param norm        (dim) the pre-attention RMSNorm weight
 * @param ropeInvFreq (headDim/2) rotary inverse frequencies
 * @param bq          (qDim) q bias, or null; bk and bv are null exactly when bq is
 * @param bk          (kvDim) k bias, or null
 * @param bv          (kvDim) v bias, or null
 * @param qNorm       (headDim) per-head RMSNorm weight of q, or null; kNorm is null exactly when qNorm is
 * @param kNorm       (headDim) per-head RMSNorm weight of k, or null
 */
public record AttentionWeights(LlamaConfig config, WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
                               float[] norm, float[] ropeInvFreq,
                               float[] bq, float[] bk, float[] bv, float[] qNorm, float[] kNorm) {

    public AttentionWeights {
        if ((bq == null) != (bk == null) || (bq == null) != (bv == null) || (qNorm == null) != (kNorm == null)) {
            throw new IllegalArgumentException("q, k and v biases come together, and so do the q and k norms");
        }
    }

    /** A Llama attention block: no biases, no QK-norm. */
    public AttentionWeights(LlamaConfig config, WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
                            float[] norm, float[] ropeInvFreq) {
        this(config, wq, wk, wv, wo, norm, ropeInvFreq, null, null, null, null, null);
    }

    /**
     * True when this is the Llama block (no biases, no QK-norm, heads of width dim/nHeads): what a
     * backend whose fused attention implements only that block can run.
     */
    public boolean isPlainLlama() {
        return bq == null && qNorm == null && config.headDim() * config.nHeads() == config.dim();
    }

    /**
     * What the options add, on the host, for one row's projections: q += bq, k += bk, v += bv, then
     * each head of q and of k RMS-normalised with qNorm/kNorm. The reference forward pass and the CPU
     * device both call this; other devices run the same steps as primitive ops.
     */
    public void qkvOptions(float[] q, int qOff, float[] k, int kOff, float[] v, int vOff) {
        LlamaConfig c = config;
        if (bq != null) {
            Ops.addInPlace(q, qOff, bq, 0, c.qDim());
            Ops.addInPlace(k, kOff, bk, 0, c.kvDim());
            Ops.addInPlace(v, vOff, bv, 0, c.kvDim());
        }
        if (qNorm != null) {
            int hd = c.headDim();
            for (int h = 0; h < c.nHeads(); h++) {
                Ops.rmsnorm(q, qOff + h * hd, q, qOff + h * hd, qNorm, hd, c.rmsEps());
            }
            for (int h = 0; h < c.nKvHeads(); h++) {
                Ops.rmsnorm(k, kOff + h * hd, k, kOff + h * hd, kNorm, hd, c.rmsEps());
            }
        }
    }
}
