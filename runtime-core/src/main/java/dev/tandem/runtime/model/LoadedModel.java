package dev.tandem.runtime.model;

import dev.tandem.runtime.format.GgufFile;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A model file mapped into memory with its config and weights. Weight matrices view the mapping, so
 * they are valid only until {@link #close()}.
 */
public final class LoadedModel implements AutoCloseable {
    private final Path path;
    private final String formatDescription;
    private final LlamaConfig config;
    private final LlamaWeights weights;
    private final GgufFile gguf;
    private final List<TensorEntry> tensorTable;
    private final float[] ropeFreqFactors;
    private final float ropeLinearFactor;
    private final Runnable closer;

    LoadedModel(Path path, String formatDescription, LlamaConfig config, LlamaWeights weights, GgufFile gguf,
                List<TensorEntry> tensorTable, float[] ropeFreqFactors, float ropeLinearFactor, Runnable closer) {
        this.path = path;
        this.formatDescription = formatDescription;
        this.config = config;
        this.weights = weights;
        this.gguf = gguf;
        this.tensorTable = List.copyOf(tensorTable);
        this.ropeFreqFactors = ropeFreqFactors;
        this.ropeLinearFactor = ropeLinearFactor;
        this.closer = closer;
    }

    public Path path() { return path; }

    /** e.g. "GGUF v3, mostly Q8_0" or "llama2.c v0 float32". */
    public String formatDescription() { return formatDescription; }

    public LlamaConfig config() { return config; }

    public LlamaWeights weights() { return weights; }

    /** The GGUF file (tokenizer metadata, all keys), when the model is one. */
    public Optional<GgufFile> gguf() { return Optional.ofNullable(gguf); }

    /** Every tensor the file holds, in file order. */
    public List<TensorEntry> tensorTable() { return tensorTable; }

    /**
     * The per-frequency divisors of a {@code rope_freqs.weight} tensor (headDim/2 values), which is how
     * llama.cpp stores Llama 3.1 rope scaling in GGUF; empty when the file has none.
     */
    public Optional<float[]> ropeFreqFactors() { return Optional.ofNullable(ropeFreqFactors).map(float[]::clone); }

    /**
     * The RoPE inverse frequencies to compute with: {@link LlamaConfig#ropeInvFreq()} (which applies
     * {@link LlamaConfig#ropeScaling()}), divided by {@code rope_freqs[i]} when the file has that tensor
     * and by the linear scaling factor ({@code llama.rope.scaling.type = linear}) when it has one.
     * Use this rather than the config's method, which cannot see the tensor.
     */
    public float[] ropeInvFreq() {
        float[] inv = config.ropeInvFreq();
        for (int i = 0; i < inv.length; i++) {
            float divisor = ropeLinearFactor * (ropeFreqFactors != null ? ropeFreqFactors[i] : 1f);
            inv[i] /= divisor;
        }
        return inv;
    }

    /** Unmaps the file; the weights must not be used afterwards. */
    @Override
    public void close() {
        closer.run();
    }
}
