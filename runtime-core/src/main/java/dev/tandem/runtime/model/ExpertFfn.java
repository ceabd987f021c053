package dev.tandem.runtime.model;

import dev.tandem.kernels.WeightMatrix;

/**
 * One SiLU-gated FFN without its norm: out = down·(silu(gate·x) ⊙ up·x). A mixture's experts and its
 * shared expert are each one.
 *
 * @param gate (hidden, dim)
 * @param up   (hidden, dim)
 * @param down (dim, hidden)
 */
public record ExpertFfn(WeightMatrix gate, WeightMatrix up, WeightMatrix down) {
    public int hiddenDim() { return gate.rows(); }

    public long byteSize() { return gate.byteSize() + up.byteSize() + down.byteSize(); }
}
