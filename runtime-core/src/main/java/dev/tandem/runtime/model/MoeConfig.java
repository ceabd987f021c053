package dev.tandem.runtime.model;

/**
 * A mixture-of-experts FFN: a router (experts, dim) scores each token, a softmax over all experts
 * turns scores into probabilities, the expertsUsed most probable experts run (each a SiLU-gated FFN
 * of width expertHiddenDim) and their outputs are summed weighted by their probabilities.
 *
 * @param experts          experts per layer
 * @param expertsUsed      experts each token runs (top-k)
 * @param expertHiddenDim  inner width of one expert
 * @param normalizeWeights the k chosen probabilities are divided by their sum (Mixtral, Qwen3-MoE), or
 *                         used as they are (Qwen2-MoE)
 * @param sharedHiddenDim  inner width of a shared expert every token runs, gated by sigmoid(g·x)
 *                         (Qwen2-MoE), or 0 when there is none
 */
public record MoeConfig(int experts, int expertsUsed, int expertHiddenDim, boolean normalizeWeights,
                        int sharedHiddenDim) {
    public MoeConfig {
        if (experts < 1 || expertsUsed < 1 || expertsUsed > experts || expertHiddenDim < 1 || sharedHiddenDim < 0) {
            throw new IllegalArgumentException("inconsistent experts: " + experts + " experts, " + expertsUsed
                    + " used, width " + expertHiddenDim + ", shared width " + sharedHiddenDim);
        }
    }

    public boolean hasSharedExpert() { return sharedHiddenDim > 0; }

    String describe() {
        return experts + " experts, top-" + expertsUsed + (hasSharedExpert() ? ", a shared expert" : "")
                + (normalizeWeights ? ", weights renormalised" : "");
    }
}
