package dev.tandem.runtime.compiler;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.LlamaWeights;
import dev.tandem.runtime.model.ModelData;
import dev.tandem.runtime.model.MoeConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * A Llama-architecture transformer as placeable ops with bytes and FLOPs. No weight data: a shape
 * is enough, so 405B models plan on a laptop. The KV cache is f16; activations crossing devices are
 * f16 hidden states.
 *
 * @param name          model name, for reports
 * @param config        hyper-parameters
 * @param format        storage format of the layer matrices
 * @param experts       FFN experts per layer (1 = dense)
 * @param activeExperts experts each token is routed to (top-k)
 * @param tiedOutput    whether the head reuses the embedding (then it is resident once)
 * @param embeddingFormat storage format of the token embedding table (files often keep it apart)
 * @param outputFormat  storage format of the output table
 * @param routerFormat  storage format of a mixture's routers (files keep them in F32 where the experts are
 *                      quantized); a mixture's shape (experts of width hiddenDim, a shared expert, its
 *                      gating) is {@code config.arch().moe()} where the config carries one
 */
public record ModelGraph(String name, LlamaConfig config, WeightFormat format, int experts, int activeExperts,
                         boolean tiedOutput, WeightFormat embeddingFormat, WeightFormat outputFormat, WeightFormat routerFormat) {

    static final int KV_BYTES_PER_VALUE = 2;
    static final int ACTIVATION_BYTES_PER_VALUE = 2;

    /** Tables in the layers' format. */
    public ModelGraph(String name, LlamaConfig config, WeightFormat format, int experts, int activeExperts, boolean tiedOutput) {
        this(name, config, format, experts, activeExperts, tiedOutput, format, format, format);
    }

    /** Routers in the layers' format. */
    public ModelGraph(String name, LlamaConfig config, WeightFormat format, int experts, int activeExperts, boolean tiedOutput,
                      WeightFormat embeddingFormat, WeightFormat outputFormat) {
        this(name, config, format, experts, activeExperts, tiedOutput, embeddingFormat, outputFormat, format);
    }

    public ModelGraph {
        if (experts < 1 || activeExperts < 1 || activeExperts > experts) {
            throw new IllegalArgumentException("need 1 <= active experts <= experts, got " + activeExperts + " of " + experts);
        }
    }

    /** A dense model in one format. */
    public static ModelGraph dense(String name, LlamaConfig config, WeightFormat format) {
        return new ModelGraph(name, config, format, 1, 1, false);
    }

    /** The graph of a loaded model, in the format of its layer matrices. */
    public static ModelGraph of(ModelData model) {
        LlamaWeights w = model.weights();
        MoeConfig moe = model.config().arch().moe();
        WeightFormat layers = w.wq()[0].format();
        return new ModelGraph(model.source(), model.config(), layers, moe == null ? 1 : moe.experts(),
                moe == null ? 1 : moe.expertsUsed(), w.output() == w.tokenEmbedding(),
                w.tokenEmbedding().format(), w.output().format(), moe == null ? layers : w.arch().moe(0).router().format());
    }

    /** Every matrix, tables included, in f (a built-in shape's --weights). */
    public ModelGraph withFormat(WeightFormat f) {
        return new ModelGraph(name, config, f, experts, activeExperts, tiedOutput, f, f, f);
    }

    private long matrix(long rows, long cols) {
        return matrix(rows, cols, format);
    }

    private static long matrix(long rows, long cols, WeightFormat format) {
        long elements = rows * cols;
        // Quantised formats need whole blocks; toy shapes that are not multiples fall back to f16 size.
        return elements % format.blockSize() == 0 ? format.bytesFor(elements) : elements * 2;
    }

    private long attentionWeights() {
        LlamaConfig c = config;
        return matrix(c.qDim(), c.dim()) * 2 + matrix(c.kvDim(), c.dim()) * 2 + 4L * c.dim();
    }

    private long expertWeights() {
        return matrix(config.hiddenDim(), config.dim()) * 3;
    }

    /** A shared expert every token runs (Qwen2-MoE) and its gate row (F32), or 0. */
    private long sharedExpertWeights() {
        MoeConfig moe = config.arch().moe();
        return moe == null || !moe.hasSharedExpert() ? 0 : matrix(moe.sharedHiddenDim(), config.dim()) * 3 + 4L * config.dim();
    }

    private long routerWeights() {
        return experts > 1 ? matrix(experts, config.dim(), routerFormat) : 0;
    }

    private long ffnWeights() {
        return experts * expertWeights() + routerWeights() + sharedExpertWeights() + 4L * config.dim();
    }

    private long embeddingWeights() { return matrix(config.vocabSize(), config.dim(), embeddingFormat); }

    private long outputWeights() { return matrix(config.vocabSize(), config.dim(), outputFormat); }

    /** Resident bytes of every weight (a tied head counted once). */
    public long weightBytes() {
        return embeddingWeights() + (tiedOutput ? 0 : outputWeights()) + 4L * config.dim()
                + (long) config.nLayers() * (attentionWeights() + ffnWeights());
    }

    /** KV cache bytes one token occupies in one layer (keys and values). */
    public long kvBytesPerTokenPerLayer() { return 2L * config.kvDim() * KV_BYTES_PER_VALUE; }

    /** Bytes of rows hidden-state vectors as a plan moves them between devices. */
    public long activationBytes(int rows) { return (long) rows * config.dim() * ACTIVATION_BYTES_PER_VALUE; }

    /** KV cache bytes one token occupies in the whole model. */
    public long kvBytesPerToken() { return kvBytesPerTokenPerLayer() * config.nLayers(); }

    /**
     * Expected distinct experts a group of tokens touches with uniform top-k routing:
     * E·(1 − (1 − k/E)^tokens). One token touches k; a large batch touches all E.
     */
    public double expectedExpertsTouched(long tokens) {
        if (experts == 1) {
            return 1;
        }
        return experts * (1 - Math.pow(1 - (double) activeExperts / experts, tokens));
    }

    /**
     * The ops of one phase in execution order: embed, then attention and FFN per layer, then the head.
     * Prefill runs every prompt of the batch at once; decode runs one token per sequence with the KV
     * cache at {@code workload.context()} positions.
     */
    public List<Op> ops(Phase phase, Workload w) {
        LlamaConfig c = config;
        long tokens = phase == Phase.PREFILL ? (long) w.batch() * w.promptLen() : w.batch();
        int kvLen = phase == Phase.PREFILL ? w.promptLen() : w.context();
        long hidden = tokens * c.dim() * ACTIVATION_BYTES_PER_VALUE;
        List<Op> ops = new ArrayList<>(2 * c.nLayers() + 2);
        BatchShape rows = BatchShape.of(phase, w);
        ops.add(new Op(-1, OpKind.EMBED, phase, "ids[" + tokens + "] emb[" + c.vocabSize() + "," + c.dim() + "]",
                embeddingWeights(), tokens * embeddingWeights() / c.vocabSize(), 0, 0, hidden, 0, 1, rows));
        long attnMatrixElements = 2L * c.dim() * c.dim() + 2L * c.kvDim() * c.dim();
        // Scores and weighted values: 2 FLOPs per position per head dimension each; prefill is causal.
        double attnCoreFlops = phase == Phase.PREFILL
                ? (double) w.batch() * 2.0 * w.promptLen() * (w.promptLen() + 1) * c.dim()
                : (double) w.batch() * 4.0 * kvLen * c.dim();
        long kvResident = (long) w.batch() * w.context() * kvBytesPerTokenPerLayer();
        long kvMoved = phase == Phase.PREFILL
                ? (long) w.batch() * w.promptLen() * kvBytesPerTokenPerLayer()   // written once, read tile by tile
                : (long) w.batch() * kvLen * kvBytesPerTokenPerLayer();
        double touched = expectedExpertsTouched(tokens);
        long ffnRead = (long) Math.ceil(touched * expertWeights()) + routerWeights() + sharedExpertWeights();
        MoeConfig moe = c.arch().moe();
        int sharedHidden = moe == null ? 0 : moe.sharedHiddenDim();
        double ffnFlops = 2.0 * tokens * (activeExperts * 3.0 * c.hiddenDim() + 3.0 * sharedHidden) * c.dim()
                + (experts > 1 ? 2.0 * tokens * (experts + (sharedHidden > 0 ? 1 : 0)) * c.dim() : 0);
        String x = "x[" + tokens + "," + c.dim() + "]";
        String attnShape = x + " wq[" + c.dim() + "," + c.dim() + "] wkv[" + c.kvDim() + "," + c.dim() + "]x2 kv["
                + w.batch() + "," + kvLen + "," + c.kvDim() + "]";
        String ffnShape = x + " w13[" + c.hiddenDim() + "," + c.dim() + "]x2 w2[" + c.dim() + "," + c.hiddenDim() + "]"
                + (experts > 1 ? " experts " + activeExperts + "/" + experts : "");
        for (int l = 0; l < c.nLayers(); l++) {
            ops.add(new Op(l, OpKind.ATTENTION, phase, attnShape, attentionWeights(), attentionWeights(), kvResident, kvMoved,
                    hidden, 2.0 * tokens * attnMatrixElements + attnCoreFlops, 5, rows));
            ops.add(new Op(l, OpKind.FFN, phase, ffnShape, ffnWeights(), ffnRead, 0, 0, hidden, ffnFlops, experts > 1 ? 4 : 3, rows));
        }
        // Only the last position of each prompt needs logits.
        long headTokens = w.batch();
        ops.add(new Op(c.nLayers(), OpKind.HEAD, phase, "x[" + headTokens + "," + c.dim() + "] out[" + c.vocabSize() + "," + c.dim() + "]",
                tiedOutput ? 0 : outputWeights(), outputWeights(), 0, 0, headTokens * c.vocabSize() * 4L,
                2.0 * headTokens * c.vocabSize() * c.dim(), 2, rows));
        return ops;
    }

    /**
     * The op of a kind in a phase's ops for w: layer's for attention and FFN, the one embedding or
     * head otherwise (what an executor's log entry is priced as).
     */
    public Op op(Phase phase, OpKind kind, int layer, Workload w) {
        for (Op op : ops(phase, w)) {
            if (op.kind() == kind && (op.layer() == layer || kind == OpKind.EMBED || kind == OpKind.HEAD)) {
                return op;
            }
        }
        throw new IllegalArgumentException("no " + phase + " " + kind + " op for layer " + layer);
    }

    /**
     * A plan's prefill runs in chunks of this many tokens per sequence (its executors and the costs
     * that price them). It sizes every device's prefill scratch, so it stays 64: at 256 the LPU's
     * 70B deployments no longer fit their chips. The CPU reference session prefills in larger chunks
     * ({@code ReferenceForward.HOST_PREFILL_CHUNK}).
     */
    public static final int PREFILL_CHUNK = 64;

    /**
     * Scratch for one run of a phase on one stage: the widest intermediates (FFN inner, logits) in
     * fp32, prefill in chunks. Tensor parallel devices each hold their share of it.
     */
    public long activationWorkspaceBytes(Phase phase, Workload w) {
        long tokens = phase == Phase.PREFILL ? (long) w.batch() * Math.min(w.promptLen(), PREFILL_CHUNK) : w.batch();
        return tokens * 4L * (3L * config.dim() + 2L * config.hiddenDim()) + (long) w.batch() * config.vocabSize() * 4;
    }
}
