package dev.tandem.runtime.model;

import dev.tandem.kernels.WeightMatrix;

/**
 * The weights of one mixture-of-experts FFN (its norm stays in {@link LlamaWeights#ffnNorm()}).
 *
 * @param router     (experts, dim) ffn_gate_inp
 * @param experts    [experts] slices of the ffn_{gate,up,down}_exps tensors
 * @param shared     the shared expert, or null
 * @param sharedGate (1, dim) the shared expert's sigmoid gate, or null
 */
public record MoeLayer(WeightMatrix router, ExpertFfn[] experts, ExpertFfn shared, WeightMatrix sharedGate) {
    /** Bytes one token reads: the router, k experts (at the largest expert size) and the shared expert. */
    long decodeBytes(int expertsUsed) {
        long largest = 0;
        for (ExpertFfn e : experts) largest = Math.max(largest, e.byteSize());
        return router.byteSize() + expertsUsed * largest
                + (shared != null ? shared.byteSize() + sharedGate.byteSize() : 0);
    }
}
