package dev.tandem.runtime.device;

import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.MoeLayer;

/**
 * One mixture-of-experts FFN block on the host, ready to upload with {@link Device#uploadMoeFfn}:
 * n = rmsnorm(x); the router (experts, dim) scores n, {@code MoeRouter} picks k experts and their
 * weights, and x += sum over the chosen experts e (ascending) of weight_e * expert_e(n), plus
 * sigmoid(g·n) * shared(n) when there is a shared expert. Each expert is an FFN block without norm.
 *
 * @param config the model's hyper-parameters; {@code config.arch().moe()} is the mixture's shape
 * @param layer  router, experts and shared expert
 * @param norm   (dim) the pre-FFN RMSNorm weight
 */
public record MoeFfnWeights(LlamaConfig config, MoeLayer layer, float[] norm) {
    public MoeFfnWeights {
        if (config.arch().moe() == null) {
            throw new IllegalArgumentException("the config describes no mixture of experts");
        }
    }
}
