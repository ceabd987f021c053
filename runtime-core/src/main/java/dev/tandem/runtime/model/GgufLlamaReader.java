package dev.tandem.runtime.model;

import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.error.ModelFormatException;
import dev.tandem.runtime.error.SafeText;
import dev.tandem.runtime.format.GgmlType;
import dev.tandem.runtime.format.GgufFile;
import dev.tandem.runtime.format.GgufTensor;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Maps a GGUF file (llama.cpp's key and tensor names) to config and weights. One reader for every
 * supported architecture: each is the Llama block plus options ({@link ArchOptions}), read from the
 * keys under the architecture's prefix and from the tensors the file holds.
 */
final class GgufLlamaReader {
    /** Architectures and what they add; the rest of a file is read the same way for all. */
    private enum Arch {
        LLAMA(false, true), QWEN2(true, false), QWEN3(true, false), QWEN2MOE(true, false), QWEN3MOE(true, true);

        /** Rotary pairs (i, i + headDim/2) rather than adjacent ones. */
        final boolean neox;
        /** llama.cpp renormalises the k routing weights of this architecture's experts. */
        final boolean normalizeExperts;

        Arch(boolean neox, boolean normalizeExperts) {
            this.neox = neox;
            this.normalizeExperts = normalizeExperts;
        }

        String key() { return name().toLowerCase(java.util.Locale.ROOT); }

        static String supported() {
            return Arrays.stream(values()).map(Arch::key).collect(java.util.stream.Collectors.joining(", "));
        }
    }

    /** attn_norm, q, k, v, output, ffn_norm, gate, down, up (a mixture has as many or more). */
    private static final int TENSORS_PER_BLOCK = 9;

    private final GgufFile gguf;
    private final Path path;
    private final Arena arena = Arena.ofShared();
    private final GgufTensorReader tensors;
    private String prefix;

    private GgufLlamaReader(GgufFile gguf) {
        this.gguf = gguf;
        this.path = gguf.path();
        this.tensors = new GgufTensorReader(gguf, arena);
    }

    /** Builds the model; closes {@code gguf} when that fails, and hands it to the model otherwise. */
    static LoadedModel load(GgufFile gguf) {
        GgufLlamaReader reader = new GgufLlamaReader(gguf);
        try {
            return reader.build();
        } catch (RuntimeException e) {
            reader.arena.close();
            gguf.close();
            throw e;
        }
    }

    private static Arch arch(GgufFile gguf) {
        String name = gguf.requireString("general.architecture");
        for (Arch a : Arch.values()) {
            if (a.key().equals(name)) {
                return a;
            }
        }
        throw new ModelFormatException(gguf.path(), unsupportedArchitecture(name));
    }

    /** Whether general.architecture = name is one this reader builds. */
    static boolean supports(String name) {
        return Arrays.stream(Arch.values()).anyMatch(a -> a.key().equals(name));
    }

    static String unsupportedArchitecture(String name) {
        return "architecture " + SafeText.quote(name) + " is not supported (metadata key 'general.architecture'; supported: "
                + Arch.supported() + ")";
    }

    private String key(String suffix) { return prefix + suffix; }

    private LoadedModel build() {
        Arch arch = arch(gguf);
        prefix = arch.key() + ".";
        GgufTensor embd = gguf.tensor("token_embd.weight");
        int dim = describes(key("embedding_length"), embd.dim(0), "token_embd.weight's row length");
        int nLayers = positive(key("block_count"));
        if (nLayers > gguf.tensors().size() / TENSORS_PER_BLOCK) {
            throw keyValue(key("block_count"), nLayers, "but the file has " + gguf.tensors().size()
                    + " tensors, and each block needs " + TENSORS_PER_BLOCK);
        }
        MoeConfig moe = moeConfig(arch, dim);
        int hiddenDim = moe != null ? moe.expertHiddenDim()
                : describes(key("feed_forward_length"), gguf.tensor("blk.0.ffn_gate.weight").dim(1),
                        "blk.0.ffn_gate.weight's row count");
        int nHeads = positive(key("attention.head_count"));
        int nKvHeads = gguf.get(key("attention.head_count_kv")).isPresent() ? positive(key("attention.head_count_kv")) : nHeads;
        if (nKvHeads > nHeads || nHeads % nKvHeads != 0) {
            throw keyValue(key("attention.head_count_kv"), nKvHeads, "but there are " + nHeads
                    + " query heads (GQA needs a divisor of them)");
        }
        int headDim = headDim(dim, nHeads);
        int contextLength = positive(key("context_length"));
        if (contextLength > LlamaConfig.MAX_CONTEXT_LENGTH) {
            throw keyValue(key("context_length"), contextLength, "but Tandem supports at most " + LlamaConfig.MAX_CONTEXT_LENGTH);
        }
        float rmsEps = gguf.getFloat(key("attention.layer_norm_rms_epsilon"), 1e-5f);
        float ropeTheta = gguf.getFloat(key("rope.freq_base"), 10000f);
        if (!(rmsEps > 0) || !(ropeTheta > 0) || Float.isInfinite(ropeTheta)) {
            throw new ModelFormatException(path, "rms epsilon " + rmsEps + " and rope freq_base " + ropeTheta + " must be positive and finite");
        }
        float linearFactor = ropeLinearFactor();

        int vocab = gguf.get(key("vocab_size")).isPresent()
                ? describes(key("vocab_size"), embd.dim(1), "token_embd.weight's row count")
                : (int) Math.min(Integer.MAX_VALUE, embd.dim(1));
        boolean qkvBias = tensors.has("blk.0.attn_q.bias");
        boolean qkNorm = tensors.has("blk.0.attn_q_norm.weight");
        ArchOptions options = new ArchOptions(arch.key(), qkvBias, qkNorm, arch.neox, moe);
        LlamaConfig config = new LlamaConfig(dim, hiddenDim, nLayers, nHeads, nKvHeads, vocab, contextLength,
                rmsEps, ropeTheta, null, headDim, options);

        int q = config.qDim(), kv = config.kvDim();
        WeightMatrix tokenEmbedding = tensors.matrix("token_embd.weight", vocab, dim);
        float[][] attnNorm = new float[nLayers][];
        float[][] ffnNorm = new float[nLayers][];
        WeightMatrix[] wq = new WeightMatrix[nLayers], wk = new WeightMatrix[nLayers], wv = new WeightMatrix[nLayers],
                wo = new WeightMatrix[nLayers], w1 = new WeightMatrix[nLayers], w2 = new WeightMatrix[nLayers],
                w3 = new WeightMatrix[nLayers];
        float[][] bq = qkvBias ? new float[nLayers][] : null, bk = qkvBias ? new float[nLayers][] : null,
                bv = qkvBias ? new float[nLayers][] : null;
        float[][] qNorm = qkNorm ? new float[nLayers][] : null, kNorm = qkNorm ? new float[nLayers][] : null;
        MoeLayer[] moeLayers = moe != null ? new MoeLayer[nLayers] : null;
        for (int l = 0; l < nLayers; l++) {
            String b = "blk." + l + ".";
            attnNorm[l] = tensors.vector(b + "attn_norm.weight", dim);
            wq[l] = rotated(tensors.matrix(b + "attn_q.weight", q, dim), arch, headDim);
            wk[l] = rotated(tensors.matrix(b + "attn_k.weight", kv, dim), arch, headDim);
            wv[l] = tensors.matrix(b + "attn_v.weight", kv, dim);
            wo[l] = tensors.matrix(b + "attn_output.weight", dim, q);
            if (qkvBias) {
                bq[l] = rotated(tensors.vector(b + "attn_q.bias", q), arch, headDim);
                bk[l] = rotated(tensors.vector(b + "attn_k.bias", kv), arch, headDim);
                bv[l] = tensors.vector(b + "attn_v.bias", kv);
            }
            if (qkNorm) {
                qNorm[l] = rotated(tensors.vector(b + "attn_q_norm.weight", headDim), arch, headDim);
                kNorm[l] = rotated(tensors.vector(b + "attn_k_norm.weight", headDim), arch, headDim);
            }
            ffnNorm[l] = tensors.vector(b + "ffn_norm.weight", dim);
            if (moe != null) {
                moeLayers[l] = moeLayer(b, moe, dim);
            } else {
                w1[l] = tensors.matrix(b + "ffn_gate.weight", hiddenDim, dim);
                w2[l] = tensors.matrix(b + "ffn_down.weight", dim, hiddenDim);
                w3[l] = tensors.matrix(b + "ffn_up.weight", hiddenDim, dim);
            }
        }
        float[] finalNorm = tensors.vector("output_norm.weight", dim);
        WeightMatrix output = tensors.has("output.weight") ? tensors.matrix("output.weight", vocab, dim) : tokenEmbedding;
        float[] ropeFreqs = tensors.has("rope_freqs.weight") ? ropeFreqs(headDim / 2) : null;

        ArchWeights extras = new ArchWeights(bq, bk, bv, qNorm, kNorm, moeLayers);
        LlamaWeights weights = new LlamaWeights(tokenEmbedding, attnNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3, finalNorm, output, extras);
        List<TensorEntry> table = gguf.tensors().stream()
                .map(t -> new TensorEntry(t.name(), t.type().name(), t.dims(), t.offset(), t.byteSize())).toList();
        String description = "GGUF v" + gguf.version() + ", mostly " + dominantMatrixType();
        return new LoadedModel(path, description, config, weights, gguf, table, ropeFreqs, linearFactor, () -> {
            arena.close();
            gguf.close();
        });
    }

    /** The head width: the key_length key when the file has one (Qwen3), else dim/heads as Llama ties it. */
    private int headDim(int dim, int nHeads) {
        int headDim;
        if (gguf.get(key("attention.key_length")).isPresent()) {
            headDim = positive(key("attention.key_length"));
        } else {
            if (nHeads > dim) {
                throw keyValue(key("attention.head_count"), nHeads, "but there are only " + dim + " embedding dimensions");
            }
            if (dim % nHeads != 0) {
                throw keyValue(key("attention.head_count"), nHeads, "but embedding_length " + dim
                        + " is not a multiple of it and the file names no attention.key_length");
            }
            headDim = dim / nHeads;
        }
        if (headDim % 2 != 0) {
            throw keyValue(key("attention.key_length"), headDim, "but a rotary head needs an even width");
        }
        requireEqualIfPresent(key("attention.value_length"), headDim, "value heads narrower or wider than key heads are not supported");
        requireEqualIfPresent(key("rope.dimension_count"), headDim, "partial rotary embeddings are not supported");
        return headDim;
    }

    /** A mixture's shape, or null for a dense FFN; every count the file states must agree. */
    private MoeConfig moeConfig(Arch arch, int dim) {
        if (gguf.get(key("expert_count")).isEmpty() || gguf.requireLong(key("expert_count")) == 0) {
            if (arch == Arch.QWEN2MOE || arch == Arch.QWEN3MOE) {
                throw new ModelFormatException(path, "metadata key " + SafeText.quote(key("expert_count"))
                        + " is missing or 0, but architecture " + arch.key() + " is a mixture of experts");
            }
            return null;
        }
        int experts = positive(key("expert_count"));
        int used = positive(key("expert_used_count"));
        if (used > experts) {
            throw keyValue(key("expert_used_count"), used, "but " + SafeText.quote(key("expert_count")) + " is " + experts);
        }
        if (!tensors.has("blk.0.ffn_gate_exps.weight")) {
            throw new ModelFormatException(path, "metadata key " + SafeText.quote(key("expert_count")) + " is " + experts
                    + " but the file has no tensor 'blk.0.ffn_gate_exps.weight' (experts stored one tensor each, "
                    + "as old Mixtral conversions did, are not supported)");
        }
        GgufTensor gate = gguf.tensor("blk.0.ffn_gate_exps.weight");
        if (gate.nDims() != 3 || gate.dim(2) != experts) {
            throw keyValue(key("expert_count"), experts, "but tensor 'blk.0.ffn_gate_exps.weight' has shape ne="
                    + Arrays.toString(gate.dims()) + " (the last dimension counts the experts)");
        }
        String widthKey = gguf.get(key("expert_feed_forward_length")).isPresent() ? "expert_feed_forward_length" : "feed_forward_length";
        int width = describes(key(widthKey), gate.dim(1), "blk.0.ffn_gate_exps.weight's rows per expert");
        int shared = 0;
        if (tensors.has("blk.0.ffn_gate_shexp.weight")) {
            long rows = gguf.tensor("blk.0.ffn_gate_shexp.weight").dim(1);
            shared = gguf.get(key("expert_shared_feed_forward_length")).isPresent()
                    ? describes(key("expert_shared_feed_forward_length"), rows, "blk.0.ffn_gate_shexp.weight's row count")
                    : (int) rows;
        } else if (arch == Arch.QWEN2MOE) {
            throw new ModelFormatException(path, "architecture qwen2moe needs a shared expert, but the file has no tensor 'blk.0.ffn_gate_shexp.weight'");
        }
        String gating = gguf.get(key("expert_gating_func")).map(v -> String.valueOf(gguf.requireLong(key("expert_gating_func")))).orElse("1");
        if (!gating.equals("1")) {
            throw new ModelFormatException(path, "metadata key " + SafeText.quote(key("expert_gating_func")) + " is " + gating
                    + ": only softmax gating (1) is supported");
        }
        return new MoeConfig(experts, used, width, arch.normalizeExperts, shared);
    }

    private MoeLayer moeLayer(String b, MoeConfig moe, int dim) {
        int n = moe.experts(), h = moe.expertHiddenDim();
        WeightMatrix router = tensors.matrix(b + "ffn_gate_inp.weight", n, dim);
        WeightMatrix[] gate = tensors.experts(b + "ffn_gate_exps.weight", h, dim, n);
        WeightMatrix[] up = tensors.experts(b + "ffn_up_exps.weight", h, dim, n);
        WeightMatrix[] down = tensors.experts(b + "ffn_down_exps.weight", dim, h, n);
        ExpertFfn[] experts = new ExpertFfn[n];
        for (int e = 0; e < n; e++) {
            experts[e] = new ExpertFfn(gate[e], up[e], down[e]);
        }
        ExpertFfn shared = null;
        WeightMatrix sharedGate = null;
        if (moe.hasSharedExpert()) {
            int s = moe.sharedHiddenDim();
            shared = new ExpertFfn(tensors.matrix(b + "ffn_gate_shexp.weight", s, dim),
                    tensors.matrix(b + "ffn_up_shexp.weight", s, dim), tensors.matrix(b + "ffn_down_shexp.weight", dim, s));
            sharedGate = tensors.vectorAsRow(b + "ffn_gate_inp_shexp.weight", dim);
        }
        return new MoeLayer(router, experts, shared, sharedGate);
    }

    private WeightMatrix rotated(WeightMatrix m, Arch arch, int headDim) {
        return arch.neox ? tensors.neoxToAdjacent(m, headDim) : m;
    }

    private static float[] rotated(float[] v, Arch arch, int headDim) {
        return arch.neox ? GgufTensorReader.neoxToAdjacent(v, headDim) : v;
    }

    private int positive(String key) {
        long v = gguf.requireLong(key);
        if (v <= 0 || v > Integer.MAX_VALUE) {
            throw keyValue(key, v, "it must be a positive 32-bit int");
        }
        return (int) v;
    }

    /** The key's value, which must equal what the tensor it sizes says (checked before anything is sized by it). */
    private int describes(String key, long fromTensor, String what) {
        int v = positive(key);
        if (v != fromTensor) {
            throw keyValue(key, v, "but " + what + " is " + fromTensor);
        }
        return v;
    }

    private ModelFormatException keyValue(String key, long value, String problem) {
        return new ModelFormatException(path, "metadata key " + SafeText.quote(key) + " is " + value + ": " + problem);
    }

    private void requireEqualIfPresent(String key, int expected, String why) {
        if (gguf.get(key).isPresent() && gguf.requireLong(key) != expected) {
            throw new ModelFormatException(path, "metadata key " + SafeText.quote(key) + " is " + gguf.requireLong(key)
                    + " but the head size is " + expected + ": " + why);
        }
    }

    /**
     * 1 when positions are not scaled; the factor for linear scaling. Llama 3.1's scaling needs no key:
     * llama.cpp bakes it into the rope_freqs.weight tensor. Other schemes (yarn, longrope) would give
     * wrong answers if ignored, so they are refused.
     */
    private float ropeLinearFactor() {
        String type = gguf.getString(key("rope.scaling.type"), "none");
        float factor = switch (type) {
            case "none" -> 1f;
            case "linear" -> gguf.getFloat(key("rope.scaling.factor"), 1f);
            default -> throw new ModelFormatException(path, "metadata key " + SafeText.quote(key("rope.scaling.type")) + " is "
                    + SafeText.quote(type) + ": not supported (supported: none, linear)");
        };
        if (type.equals("none") && gguf.get(key("rope.scale_linear")).isPresent()) {
            factor = gguf.requireFloat(key("rope.scale_linear")); // the key older converters wrote
        }
        if (!(factor > 0) || Float.isInfinite(factor)) {
            throw new ModelFormatException(path, "rope scaling factor " + factor + " must be positive and finite");
        }
        return factor;
    }

    private float[] ropeFreqs(int n) {
        float[] f = tensors.vector("rope_freqs.weight", n);
        for (int i = 0; i < n; i++) {
            if (!(f[i] > 0) || Float.isInfinite(f[i])) {
                throw new ModelFormatException(path, "tensor 'rope_freqs.weight' element " + i + " is " + f[i] + "; factors must be positive and finite");
            }
        }
        return f;
    }

    /** The type holding most matrix elements, as llama.cpp's "mostly Q8_0" file types describe a file. */
    private String dominantMatrixType() {
        Map<GgmlType, Long> elements = new LinkedHashMap<>();
        for (GgufTensor t : gguf.tensors()) {
            if (t.nDims() >= 2) {
                elements.merge(t.type(), t.elementCount(), Long::sum);
            }
        }
        return elements.entrySet().stream().max(Map.Entry.comparingByValue())
                .map(e -> e.getKey().name()).orElse("no matrices");
    }
}
