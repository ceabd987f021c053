package dev.tandem.runtime.model;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.ModelFormatException;
import dev.tandem.runtime.SafeText;
import dev.tandem.runtime.format.GgmlType;
import dev.tandem.runtime.format.GgufFile;
import dev.tandem.runtime.format.GgufTensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Maps a GGUF file of architecture {@code llama} (llama.cpp's key and tensor names) to config and weights. */
final class GgufLlamaReader {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** attn_norm, q, k, v, output, ffn_norm, gate, down, up. */
    private static final int TENSORS_PER_BLOCK = 9;

    private final GgufFile gguf;
    private final Path path;

    private GgufLlamaReader(GgufFile gguf) {
        this.gguf = gguf;
        this.path = gguf.path();
    }

    /** Builds the model; closes {@code gguf} when that fails, and hands it to the model otherwise. */
    static LoadedModel load(GgufFile gguf) {
        try {
            return new GgufLlamaReader(gguf).build();
        } catch (RuntimeException e) {
            gguf.close();
            throw e;
        }
    }

    private LoadedModel build() {
        String arch = gguf.requireString("general.architecture");
        if (!arch.equals("llama")) {
            throw new ModelFormatException(path, "architecture " + SafeText.quote(arch) + " is not supported (supported: llama)");
        }
        GgufTensor embd = gguf.tensor("token_embd.weight");
        int dim = describes("llama.embedding_length", embd.dim(0), "token_embd.weight's row length");
        int hiddenDim = describes("llama.feed_forward_length", gguf.tensor("blk.0.ffn_gate.weight").dim(1),
                "blk.0.ffn_gate.weight's row count");
        int nLayers = positive("llama.block_count");
        if (nLayers > gguf.tensors().size() / TENSORS_PER_BLOCK) {
            throw keyValue("llama.block_count", nLayers, "but the file has " + gguf.tensors().size()
                    + " tensors, and each block needs " + TENSORS_PER_BLOCK);
        }
        int nHeads = positive("llama.attention.head_count");
        int nKvHeads = gguf.get("llama.attention.head_count_kv").isPresent() ? positive("llama.attention.head_count_kv") : nHeads;
        if (nHeads > dim || nKvHeads > nHeads) {
            throw keyValue(nHeads > dim ? "llama.attention.head_count" : "llama.attention.head_count_kv",
                    nHeads > dim ? nHeads : nKvHeads, "but there are only " + (nHeads > dim ? dim + " embedding dimensions"
                            : nHeads + " query heads"));
        }
        int contextLength = positive("llama.context_length");
        if (contextLength > LlamaConfig.MAX_CONTEXT_LENGTH) {
            throw keyValue("llama.context_length", contextLength, "but Tandem supports at most " + LlamaConfig.MAX_CONTEXT_LENGTH);
        }
        float rmsEps = gguf.getFloat("llama.attention.layer_norm_rms_epsilon", 1e-5f);
        float ropeTheta = gguf.getFloat("llama.rope.freq_base", 10000f);
        if (dim % nHeads != 0 || nHeads % nKvHeads != 0 || (dim / nHeads) % 2 != 0) {
            throw new ModelFormatException(path, "inconsistent heads: embedding_length " + dim + ", head_count " + nHeads
                    + ", head_count_kv " + nKvHeads + " (need dim % heads == 0, heads % kv_heads == 0, an even head size)");
        }
        int headDim = dim / nHeads;
        requireEqualIfPresent("llama.rope.dimension_count", headDim, "partial rotary embeddings are not supported");
        requireEqualIfPresent("llama.attention.key_length", headDim, "head sizes other than embedding_length/head_count are not supported");
        requireEqualIfPresent("llama.attention.value_length", headDim, "head sizes other than embedding_length/head_count are not supported");
        if (!(rmsEps > 0) || !(ropeTheta > 0) || Float.isInfinite(ropeTheta)) {
            throw new ModelFormatException(path, "rms epsilon " + rmsEps + " and rope freq_base " + ropeTheta + " must be positive and finite");
        }
        float linearFactor = ropeLinearFactor();

        int vocab = gguf.get("llama.vocab_size").isPresent()
                ? describes("llama.vocab_size", embd.dim(1), "token_embd.weight's row count")
                : (int) Math.min(Integer.MAX_VALUE, embd.dim(1));
        LlamaConfig config = new LlamaConfig(dim, hiddenDim, nLayers, nHeads, nKvHeads, vocab, contextLength,
                rmsEps, ropeTheta, null);

        int q = nHeads * headDim, kv = nKvHeads * headDim;
        WeightMatrix tokenEmbedding = matrix("token_embd.weight", vocab, dim);
        float[][] attnNorm = new float[nLayers][];
        float[][] ffnNorm = new float[nLayers][];
        WeightMatrix[] wq = new WeightMatrix[nLayers], wk = new WeightMatrix[nLayers], wv = new WeightMatrix[nLayers],
                wo = new WeightMatrix[nLayers], w1 = new WeightMatrix[nLayers], w2 = new WeightMatrix[nLayers],
                w3 = new WeightMatrix[nLayers];
        for (int l = 0; l < nLayers; l++) {
            String b = "blk." + l + ".";
            attnNorm[l] = vector(b + "attn_norm.weight", dim);
            wq[l] = matrix(b + "attn_q.weight", q, dim);
            wk[l] = matrix(b + "attn_k.weight", kv, dim);
            wv[l] = matrix(b + "attn_v.weight", kv, dim);
            wo[l] = matrix(b + "attn_output.weight", dim, q);
            ffnNorm[l] = vector(b + "ffn_norm.weight", dim);
            w1[l] = matrix(b + "ffn_gate.weight", hiddenDim, dim);
            w2[l] = matrix(b + "ffn_down.weight", dim, hiddenDim);
            w3[l] = matrix(b + "ffn_up.weight", hiddenDim, dim);
        }
        float[] finalNorm = vector("output_norm.weight", dim);
        WeightMatrix output = gguf.findTensor("output.weight").isPresent() ? matrix("output.weight", vocab, dim) : tokenEmbedding;
        float[] ropeFreqs = gguf.findTensor("rope_freqs.weight").isPresent() ? ropeFreqs(headDim / 2) : null;

        LlamaWeights weights = new LlamaWeights(tokenEmbedding, attnNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3, finalNorm, output);
        List<TensorEntry> table = gguf.tensors().stream()
                .map(t -> new TensorEntry(t.name(), t.type().name(), t.dims(), t.offset(), t.byteSize())).toList();
        String description = "GGUF v" + gguf.version() + ", mostly " + dominantMatrixType();
        return new LoadedModel(path, description, config, weights, gguf, table, ropeFreqs, linearFactor, gguf::close);
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
        String type = gguf.getString("llama.rope.scaling.type", "none");
        float factor = switch (type) {
            case "none" -> 1f;
            case "linear" -> gguf.getFloat("llama.rope.scaling.factor", 1f);
            default -> throw new ModelFormatException(path, "rope scaling type " + SafeText.quote(type) + " is not supported (supported: none, linear)");
        };
        if (type.equals("none") && gguf.get("llama.rope.scale_linear").isPresent()) {
            factor = gguf.requireFloat("llama.rope.scale_linear"); // the key older converters wrote
        }
        if (!(factor > 0) || Float.isInfinite(factor)) {
            throw new ModelFormatException(path, "rope scaling factor " + factor + " must be positive and finite");
        }
        return factor;
    }

    /** The tensor, checked to be ne = [cols, rows] (trailing 1s allowed) and of a type Tandem computes with. */
    private WeightMatrix matrix(String name, long rows, long cols) {
        GgufTensor t = shaped(name, cols, rows);
        WeightFormat format = t.type().requireWeightFormat(path, name);
        return MatrixViews.view(path, name, format, t.data(), rows, cols);
    }

    /** A norm vector ne = [n], copied to the heap as floats (it is small and read every step). */
    private float[] vector(String name, int n) {
        GgufTensor t = shaped(name, n);
        MemorySegment data = t.data();
        float[] out = new float[n];
        switch (t.type()) {
            case F32 -> MemorySegment.copy(data, F32, 0, out, 0, n);
            case F16 -> { for (int i = 0; i < n; i++) out[i] = Float.float16ToFloat(data.getAtIndex(I16, i)); }
            case BF16 -> { for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat(data.getAtIndex(I16, i) << 16); }
            default -> throw new ModelFormatException(path, "tensor " + SafeText.quote(name) + " has type " + t.type()
                    + "; a norm weight must be F32, F16 or BF16");
        }
        return out;
    }

    private float[] ropeFreqs(int n) {
        float[] f = vector("rope_freqs.weight", n);
        for (int i = 0; i < n; i++) {
            if (!(f[i] > 0) || Float.isInfinite(f[i])) {
                throw new ModelFormatException(path, "tensor 'rope_freqs.weight' element " + i + " is " + f[i] + "; factors must be positive and finite");
            }
        }
        return f;
    }

    private GgufTensor shaped(String name, long... expectedNe) {
        GgufTensor t = gguf.tensor(name);
        long[] ne = t.dims();
        boolean ok = ne.length >= expectedNe.length;
        for (int i = 0; ok && i < ne.length; i++) {
            ok = ne[i] == (i < expectedNe.length ? expectedNe[i] : 1);
        }
        if (!ok) {
            throw new ModelFormatException(path, t.offset(), "tensor " + SafeText.quote(name) + " has shape ne=" + Arrays.toString(ne)
                    + ", expected ne=" + Arrays.toString(expectedNe) + " (innermost first)");
        }
        return t;
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
