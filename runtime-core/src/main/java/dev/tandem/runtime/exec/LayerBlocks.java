package dev.tandem.runtime.exec;

import dev.tandem.runtime.device.AttentionWeights;
import dev.tandem.runtime.device.FfnWeights;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.LlamaWeights;

/** Layer l of a model's weights as the two blocks a device uploads. */
public final class LayerBlocks {
    private LayerBlocks() {}

    public static AttentionWeights attention(LlamaConfig c, LlamaWeights w, float[] ropeInvFreq, int l) {
        return new AttentionWeights(c, w.wq()[l], w.wk()[l], w.wv()[l], w.wo()[l], w.attnNorm()[l], ropeInvFreq);
    }

    public static FfnWeights ffn(LlamaConfig c, LlamaWeights w, int l) {
        return new FfnWeights(c, w.w1()[l], w.w3()[l], w.w2()[l], w.ffnNorm()[l]);
    }
}
