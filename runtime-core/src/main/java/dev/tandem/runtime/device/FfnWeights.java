package dev.tandem.runtime.device;

import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.model.LlamaConfig;

/**
 * One Llama FFN block on the host, ready to upload with {@link Device#uploadFfn}.
 *
 * @param config the model's hyper-parameters (widths, eps)
 * @param w1     (hidden, dim) gate
 * @param w3     (hidden, dim) up
 * @param w2     (dim, hidden) down
 * @param norm   (dim) the pre-FFN RMSNorm weight
 */
public record FfnWeights(LlamaConfig config, WeightMatrix w1, WeightMatrix w3, WeightMatrix w2, float[] norm) {}
