package dev.tandem.runtime.model;

import java.util.ArrayList;
import java.util.List;

/**
 * What an architecture adds to the Llama block, as options of the one forward pass rather than a
 * forward of its own. Rotary style is not here: a NeoX-style (half-split) rotation is turned into
 * Llama's adjacent-pair rotation when the file is read, by permuting the rows of wq and wk (and of
 * their biases and QK-norm weights) within each head; attention scores are unchanged by a permutation
 * applied to both q and k, so nothing downstream needs to know.
 *
 * @param architecture the file's {@code general.architecture} (llama, qwen2, qwen3, qwen2moe, qwen3moe)
 * @param qkvBias      q, k and v projections add a bias (Qwen2)
 * @param qkNorm       q and k are RMS-normalised per head before the rotation (Qwen3)
 * @param neoxRope     the file's rotation pairs dimension i with i + headDim/2 (Qwen); already permuted away
 * @param moe          the FFN is a mixture of experts, or null for a dense FFN
 */
public record ArchOptions(String architecture, boolean qkvBias, boolean qkNorm, boolean neoxRope, MoeConfig moe) {
    public static final ArchOptions LLAMA = new ArchOptions("llama", false, false, false, null);

    /** No option beyond Llama's is set (the rotation style does not count: it is gone after loading). */
    public boolean isPlain() { return !qkvBias && !qkNorm && moe == null; }

    public boolean isMoe() { return moe != null; }

    /**
     * Each thing this model needs beyond the Llama block, one phrase each, for error messages of
     * backends whose fused blocks implement only that block.
     */
    public List<String> features(LlamaConfig c) {
        List<String> f = new ArrayList<>(attentionFeatures(c));
        if (moe != null) f.add("mixture of experts (" + moe.describe() + ")");
        return f;
    }

    /** The attention part of {@link #features}: empty exactly when the attention block is Llama's. */
    public List<String> attentionFeatures(LlamaConfig c) {
        List<String> f = new ArrayList<>();
        if (qkvBias) f.add("QKV biases");
        if (qkNorm) f.add("QK-norm");
        if (c.headDim() * c.nHeads() != c.dim()) {
            f.add("head width " + c.headDim() + " other than dim/heads = " + c.dim() / c.nHeads());
        }
        return f;
    }
}
