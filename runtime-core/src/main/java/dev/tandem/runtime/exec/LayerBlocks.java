package dev.tandem.runtime.exec;

import dev.tandem.runtime.device.AttentionWeights;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceFfn;
import dev.tandem.runtime.device.FfnWeights;
import dev.tandem.runtime.device.MoeFfnWeights;
import dev.tandem.runtime.model.ArchWeights;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.LlamaWeights;
import dev.tandem.runtime.model.MoeLayer;

/**
 * Layer l of a model's weights as the two blocks a device uploads. The FFN block is dense or a
 * mixture of experts; {@link #uploadFfn} and {@link #ffnBytes} pick the device's matching upload so
 * that executors place either without knowing which.
 */
public final class LayerBlocks {
    private LayerBlocks() {}

    public static AttentionWeights attention(LlamaConfig c, LlamaWeights w, float[] ropeInvFreq, int l) {
        ArchWeights a = w.arch();
        return new AttentionWeights(c, w.wq()[l], w.wk()[l], w.wv()[l], w.wo()[l], w.attnNorm()[l], ropeInvFreq,
                a.bq(l), a.bk(l), a.bv(l), a.qNorm(l), a.kNorm(l));
    }

    /** The dense FFN of layer l; a mixture layer has none ({@link #moeFfn}). */
    public static FfnWeights ffn(LlamaConfig c, LlamaWeights w, int l) {
        if (w.arch().moe(l) != null) {
            throw new IllegalStateException("layer " + l + " is a mixture of experts: use moeFfn");
        }
        return new FfnWeights(c, w.w1()[l], w.w3()[l], w.w2()[l], w.ffnNorm()[l]);
    }

    /** The mixture of layer l, or null when the layer is dense. */
    public static MoeFfnWeights moeFfn(LlamaConfig c, LlamaWeights w, int l) {
        MoeLayer m = w.arch().moe(l);
        return m == null ? null : new MoeFfnWeights(c, m, w.ffnNorm()[l]);
    }

    /** Places layer l's FFN, dense or mixture, with scratch for maxBatch rows. */
    public static DeviceFfn uploadFfn(Device device, LlamaConfig c, LlamaWeights w, int l, int maxBatch) {
        MoeFfnWeights moe = moeFfn(c, w, l);
        return moe != null ? device.uploadMoeFfn(moe, maxBatch) : device.uploadFfn(ffn(c, w, l), maxBatch);
    }

    /** Bytes {@link #uploadFfn} places. */
    public static long ffnBytes(Device device, LlamaConfig c, LlamaWeights w, int l, int maxBatch) {
        MoeFfnWeights moe = moeFfn(c, w, l);
        return moe != null ? device.moeFfnBytes(moe, maxBatch) : device.ffnBytes(ffn(c, w, l), maxBatch);
    }
}
