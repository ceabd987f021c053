package dev.tandem.runtime;

import dev.tandem.runtime.error.ModelFormatException;
import dev.tandem.runtime.error.TandemException;
import dev.tandem.runtime.model.EmbeddedModel;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.LlamaWeights;
import dev.tandem.runtime.model.LoadedModel;
import dev.tandem.runtime.model.ModelData;
import dev.tandem.runtime.model.ModelLoader;
import dev.tandem.runtime.model.SyntheticModel;
import dev.tandem.runtime.model.TensorEntry;
import dev.tandem.runtime.tokenizer.Tokenizer;
import dev.tandem.runtime.tokenizer.Tokenizers;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A loaded model: its configuration, its weights (memory-mapped, not copied) and, when the file
 * carries one, its tokenizer. Closing it unmaps the file; sessions must not outlive it.
 */
public final class Model implements ModelData, AutoCloseable {
    private final String source;
    private final String formatDescription;
    private final LlamaConfig config;
    private final LlamaWeights weights;
    private final Tokenizer tokenizer;
    private final float[] ropeInvFreq;
    private final List<TensorEntry> tensors;
    private final AutoCloseable owner;
    private final String chatTemplate;

    private Model(String source, String formatDescription, LlamaConfig config, LlamaWeights weights,
                  float[] ropeInvFreq, Tokenizer tokenizer, List<TensorEntry> tensors, AutoCloseable owner,
                  String chatTemplate) {
        this.source = source;
        this.formatDescription = formatDescription;
        this.config = config;
        this.weights = weights;
        this.ropeInvFreq = ropeInvFreq;
        this.tokenizer = tokenizer;
        this.tensors = tensors;
        this.owner = owner;
        this.chatTemplate = chatTemplate;
    }

    /** Loads a GGUF or llama2.c .bin file; a GGUF's own tokenizer is used when it has one. */
    public static Model load(Path file) {
        return withOwnTokenizer(ModelLoader.load(file));
    }

    /**
     * The embedded default model (see {@link EmbeddedModel}): a small Llama trained on the King James
     * Bible, with its SentencePiece vocabulary; what every command runs when no model file is given.
     */
    public static Model embedded() {
        return withOwnTokenizer(ModelLoader.loadEmbedded());
    }

    private static Model withOwnTokenizer(LoadedModel loaded) {
        try {
            Tokenizer tokenizer = loaded.gguf()
                    .flatMap(g -> Tokenizers.fromGgufMetadata(loaded.path(), g.metadata()))
                    .orElse(null);
            return from(loaded, tokenizer);
        } catch (RuntimeException e) {
            loaded.close();
            throw e;
        }
    }

    /**
     * Loads a model with a separate tokenizer file (llama2.c tokenizer.bin, or a GGUF that has one).
     * Their vocabulary sizes must agree, except that a tokenizer.bin may hold more pieces than the
     * model: llama2.c reads as many as the model has, and so does this ({@link #tokenizerPieces}
     * tells a caller that wants to warn).
     *
     * @throws ModelFormatException naming the tokenizer file when it has fewer pieces than the model,
     *                              or a different number in a GGUF
     */
    public static Model load(Path file, Path tokenizerFile) {
        LoadedModel loaded = ModelLoader.load(file);
        try {
            int vocab = loaded.config().vocabSize();
            int pieces = tokenizerPieces(tokenizerFile);
            if (pieces < vocab || (pieces != vocab && Tokenizers.isGguf(tokenizerFile))) {
                String key = Tokenizers.isGguf(tokenizerFile) ? "tokenizer.ggml.tokens" : "its piece count";
                throw new ModelFormatException(tokenizerFile, key + " is " + pieces + ", but the model " + file
                        + " has a vocabulary of " + vocab + " (token_embd rows): the tokenizer does not belong to this model");
            }
            Tokenizer tokenizer = Tokenizers.load(tokenizerFile, vocab);
            return from(loaded, tokenizer);
        } catch (RuntimeException e) {
            loaded.close();
            throw e;
        }
    }

    /** How many pieces a tokenizer file holds (all of a tokenizer.bin, not only a model's share). */
    public static int tokenizerPieces(Path tokenizerFile) {
        return Tokenizers.load(tokenizerFile, -1).vocabSize();
    }

    private static Model from(LoadedModel loaded, Tokenizer tokenizer) {
        if (tokenizer != null && tokenizer.vocabSize() != loaded.config().vocabSize()) {
            throw new ModelFormatException(loaded.path(), "the tokenizer has " + tokenizer.vocabSize()
                    + " pieces but the model's vocabulary has " + loaded.config().vocabSize());
        }
        String chatTemplate = loaded.gguf()
                .map(g -> g.metadata().get("tokenizer.chat_template"))
                .filter(String.class::isInstance).map(String.class::cast)
                .orElse(null);
        return new Model(loaded.path().toString(), loaded.formatDescription(), loaded.config(), loaded.weights(),
                loaded.ropeInvFreq(), tokenizer, loaded.tensorTable(), loaded, chatTemplate);
    }

    /**
     * A synthetic model (see {@link SyntheticModel}): fixed shape, random weights from a fixed seed,
     * byte vocabulary. Its text is noise; tests use it for its shape (F32, dim 256).
     */
    public static Model synthetic() {
        Arena arena = Arena.ofShared();
        LlamaWeights weights = SyntheticModel.weights(arena);
        return new Model("embedded synthetic model (seed " + Long.toHexString(SyntheticModel.SEED) + ")",
                "in-memory F32", SyntheticModel.CONFIG, weights,
                SyntheticModel.CONFIG.ropeInvFreq(), SyntheticModel.tokenizer(), List.of(), arena, null);
    }

    @Override
    public String source() { return source; }

    public String formatDescription() { return formatDescription; }

    @Override
    public LlamaConfig config() { return config; }

    @Override
    public LlamaWeights weights() { return weights; }

    /** RoPE inverse frequencies (headDim/2) with the file's scaling applied (rope_freqs, linear). */
    public float[] ropeInvFreq() { return ropeInvFreq.clone(); }

    public Optional<Tokenizer> tokenizer() { return Optional.ofNullable(tokenizer); }

    /** The GGUF's {@code tokenizer.chat_template} (Jinja), when the file carries one. */
    public Optional<String> chatTemplate() { return Optional.ofNullable(chatTemplate); }

    /** The file's tensors (empty for the embedded model). */
    public List<TensorEntry> tensors() { return tensors; }

    /** Encodes text with BOS, as llama2.c and llama.cpp do for a prompt. */
    public int[] encode(String text) {
        if (tokenizer == null) {
            throw new TandemException(source + " has no text vocabulary: give token ids or a tokenizer file");
        }
        return tokenizer.encode(text, true, false);
    }

    @Override
    public void close() {
        try {
            owner.close();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new TandemException("closing " + source + " failed: " + e.getMessage(), e);
        }
    }
}
