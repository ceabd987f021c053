package dev.tandem.runtime.device;

import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.model.LlamaConfig;

/**
 * One Llama attention block on the host, ready to upload with {@link Device#uploadAttention}.
 *
 * @param config      the model's hyper-parameters (widths, heads, eps)
 * @param wq          (nHeads*headDim, dim)
 * @param wk          (kvDim, dim)
 * @param wv          (kvDim, dim)
 * @param wo          (dim, nHeads*headDim)
 * @param norm        (dim) the pre-attention RMSNorm weight
 * @param ropeInvFreq (headDim/2) rotary inverse frequencies
 */
public record AttentionWeights(LlamaConfig config, WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
                               float[] norm, float[] ropeInvFreq) {}
