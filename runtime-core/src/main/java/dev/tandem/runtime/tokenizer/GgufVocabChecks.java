package dev.tandem.runtime.tokenizer;

import dev.tandem.runtime.error.ModelFormatException;
import java.nio.file.Path;

/** Consistency checks on GGUF tokenizer arrays, so a bad file fails with its key named rather than an index error later. */
final class GgufVocabChecks {
    private GgufVocabChecks() {}

    static void requireTokens(Path file, String[] tokens) {
        if (tokens == null || tokens.length == 0) {
            throw new ModelFormatException(file, "tokenizer.ggml.tokens is missing or empty");
        }
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] == null) {
                throw new ModelFormatException(file, "tokenizer.ggml.tokens[" + i + "] is null");
            }
        }
    }

    static void requireTypes(Path file, int[] tokenTypes, int tokenCount) {
        if (tokenTypes != null && tokenTypes.length != tokenCount) {
            throw new ModelFormatException(file, "tokenizer.ggml.token_type has " + tokenTypes.length
                    + " entries for " + tokenCount + " tokens");
        }
    }

    /** An id must name a token, or be -1 for "none". */
    static void requireId(Path file, String key, int id, int tokenCount) {
        if (id < -1 || id >= tokenCount) {
            throw new ModelFormatException(file, key + " = " + id + " is outside the vocabulary of " + tokenCount + " tokens");
        }
    }
}
