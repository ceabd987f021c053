package dev.tandem.runtime.tokenizer;

import dev.tandem.runtime.error.ModelFormatException;
import dev.tandem.runtime.error.SafeText;
import dev.tandem.runtime.format.GgufFile;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Builds the tokenizer a GGUF file describes in its {@code tokenizer.ggml.*} metadata. */
public final class Tokenizers {
    static final String MODEL = "tokenizer.ggml.model";
    static final String TOKENS = "tokenizer.ggml.tokens";
    static final String SCORES = "tokenizer.ggml.scores";
    static final String TOKEN_TYPE = "tokenizer.ggml.token_type";
    static final String MERGES = "tokenizer.ggml.merges";
    static final String BOS = "tokenizer.ggml.bos_token_id";
    static final String EOS = "tokenizer.ggml.eos_token_id";
    static final String PRE = "tokenizer.ggml.pre";
    static final String ADD_SPACE_PREFIX = "tokenizer.ggml.add_space_prefix";

    private Tokenizers() {}

    /**
     * A tokenizer from a file: a GGUF (its tokenizer.ggml.* metadata) or a llama2.c tokenizer.bin.
     *
     * @param expectedVocab the model's vocabulary size, which a tokenizer.bin is read up to (as
     *                      llama2.c does); -1 reads every piece in the file
     */
    public static Tokenizer load(Path file, int expectedVocab) {
        if (isGguf(file)) {
            try (GgufFile gguf = GgufFile.open(file)) {
                return fromGgufMetadata(file, gguf.metadata())
                        .orElseThrow(() -> new ModelFormatException(file, "has no tokenizer (no tokenizer.ggml.model)"));
            }
        }
        try {
            return expectedVocab < 0 ? SentencePieceTokenizer.fromLlama2cFile(file)
                    : SentencePieceTokenizer.fromLlama2cFile(file, expectedVocab);
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read: " + e.getMessage());
        }
    }

    /** Whether file starts with the GGUF magic. */
    public static boolean isGguf(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] magic = in.readNBytes(4);
            return magic.length == 4 && magic[0] == 'G' && magic[1] == 'G' && magic[2] == 'U' && magic[3] == 'F';
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read: " + e.getMessage());
        }
    }

    /**
     * The tokenizer of a GGUF file, from its metadata: arrays as Java arrays (String[], float[],
     * int[]; a List of the element type is accepted too), ids as any Number, strings as String.
     *
     * @return empty when the file has no {@code tokenizer.ggml.*} keys at all, or its model is
     *         "no_vocab": such a model can only run on token ids
     * @throws ModelFormatException naming the key, when a key is missing, mistyped or inconsistent,
     *                              or the tokenizer model is one Tandem does not implement
     */
    public static Optional<Tokenizer> fromGgufMetadata(Path file, Map<String, Object> metadata) {
        Object model = metadata.get(MODEL);
        if (model == null) {
            for (String key : metadata.keySet()) {
                if (key.startsWith("tokenizer.ggml.")) {
                    throw new ModelFormatException(file, "has " + key + " but no " + MODEL);
                }
            }
            return Optional.empty();
        }
        if (!(model instanceof String name)) {
            throw wrongType(file, MODEL, "a string", model);
        }
        if (name.equals("no_vocab") || name.equals("none")) {
            return Optional.empty();
        }
        if (!name.equals("llama") && !name.equals("gpt2")) {
            throw new ModelFormatException(file, "unsupported " + MODEL + " " + SafeText.quote(name)
                    + " (Tandem implements 'llama' and 'gpt2')");
        }
        String[] tokens = strings(file, TOKENS, metadata.get(TOKENS));
        int bos = id(file, BOS, metadata.get(BOS));
        int eos = id(file, EOS, metadata.get(EOS));
        int[] types = ints(file, TOKEN_TYPE, metadata.get(TOKEN_TYPE));
        if (name.equals("llama")) {
            return Optional.of(SentencePieceTokenizer.fromGguf(file, tokens,
                    floats(file, SCORES, metadata.get(SCORES)), types, bos, eos, addSpacePrefix(file, metadata)));
        }
        return Optional.of(ByteLevelBpeTokenizer.fromGguf(file, tokens, strings(file, MERGES, metadata.get(MERGES)),
                types, bos, eos, string(file, PRE, metadata.get(PRE))));
    }

    private static boolean addSpacePrefix(Path file, Map<String, Object> metadata) {
        Object value = metadata.get(ADD_SPACE_PREFIX);
        if (value == null) {
            return true; // llama.cpp's default for SentencePiece vocabularies
        }
        if (!(value instanceof Boolean b)) {
            throw wrongType(file, ADD_SPACE_PREFIX, "a boolean", value);
        }
        return b;
    }

    /** -1 when absent; otherwise an integral Number that fits an int. */
    private static int id(Path file, String key, Object value) {
        if (value == null) {
            return -1;
        }
        if (!(value instanceof Number number) || value instanceof Float || value instanceof Double) {
            throw wrongType(file, key, "an integer", value);
        }
        long id = number.longValue();
        if (id < -1 || id > Integer.MAX_VALUE) {
            throw new ModelFormatException(file, key + " = " + id + " is not a token id");
        }
        return (int) id;
    }

    private static String string(Path file, String key, Object value) {
        if (value == null || value instanceof String) {
            return (String) value;
        }
        throw wrongType(file, key, "a string", value);
    }

    private static String[] strings(Path file, String key, Object value) {
        if (value == null) {
            throw new ModelFormatException(file, key + " is missing");
        }
        if (value instanceof String[] array) {
            return array;
        }
        if (value instanceof List<?> list && list.stream().allMatch(e -> e instanceof String)) {
            return list.toArray(String[]::new);
        }
        throw wrongType(file, key, "an array of strings", value);
    }

    private static float[] floats(Path file, String key, Object value) {
        if (value == null || value instanceof float[]) {
            return (float[]) value;
        }
        if (value instanceof List<?> list && list.stream().allMatch(e -> e instanceof Float)) {
            float[] out = new float[list.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = (Float) list.get(i);
            }
            return out;
        }
        throw wrongType(file, key, "an array of float32", value);
    }

    private static int[] ints(Path file, String key, Object value) {
        if (value == null || value instanceof int[]) {
            return (int[]) value;
        }
        if (value instanceof List<?> list && list.stream().allMatch(e -> e instanceof Integer)) {
            return list.stream().mapToInt(e -> (Integer) e).toArray();
        }
        throw wrongType(file, key, "an array of int32", value);
    }

    private static ModelFormatException wrongType(Path file, String key, String expected, Object actual) {
        return new ModelFormatException(file, key + " should be " + expected + " but is a "
                + actual.getClass().getSimpleName());
    }
}
