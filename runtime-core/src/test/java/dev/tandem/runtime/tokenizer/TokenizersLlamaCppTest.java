package dev.tandem.runtime.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.conformance.SharedData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tandem's tokenizers against llama.cpp's llama-tokenize on the same vocabularies
 * (tools/tokenizer-testdata): Llama 2's SentencePiece vocabulary, and a byte-level BPE vocabulary
 * (real merges, trained by the generator) under Llama 3's and Qwen 2's pre-tokenizers, with special
 * tokens spelled in the text. Every text must give exactly llama.cpp's ids, BOS included, and decode
 * back to the text (minus the special tokens, which are control tokens).
 */
class TokenizersLlamaCppTest {
    private static final JsonNode ORACLE = oracle();

    private static JsonNode oracle() {
        try (InputStream in = TokenizersLlamaCppTest.class.getResourceAsStream("/tokenizer/llama-cpp.json")) {
            return new ObjectMapper().readTree(Objects.requireNonNull(in, "tokenizer/llama-cpp.json is missing"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode vocabulary(String name) {
        for (JsonNode v : ORACLE.get("vocabularies")) {
            if (v.get("name").asText().equals(name)) {
                return v;
            }
        }
        throw new IllegalArgumentException(name);
    }

    private static Tokenizer load(JsonNode v) {
        String file = v.get("file").asText();
        if (file.startsWith("../shared/")) {
            return Tokenizers.load(SharedData.file(file.substring("../shared/".length())), -1);
        }
        try {
            return Tokenizers.load(Path.of(Objects.requireNonNull(TokenizersLlamaCppTest.class.getResource("/tokenizer/" + file)).toURI()), -1);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"spm-llama2", "bpe-llama3", "bpe-qwen2"})
    void idsEqualLlamaCpp(String name) {
        JsonNode v = vocabulary(name);
        Tokenizer t = load(v);
        assertEquals(v.get("size").asInt(), t.vocabSize(), name + ": vocabulary size");
        int cases = 0;
        for (JsonNode c : v.get("cases")) {
            String text = c.get("text").asText();
            int[] expected = new int[c.get("ids").size()];
            for (int i = 0; i < expected.length; i++) expected[i] = c.get("ids").get(i).asInt();
            int[] actual = t.encode(text, true, false);
            assertArrayEquals(expected, actual, name + " " + SafeQuote.of(text) + ": llama.cpp " + Arrays.toString(expected)
                    + ", Tandem " + Arrays.toString(actual));
            cases++;
        }
        assertTrue(cases >= 15, name + ": " + cases + " texts");
    }

    @org.junit.jupiter.api.Test
    void theTwoPreTokenizersDifferOnDigitsOnly() {
        // Llama 3 groups up to three digits, Qwen 2 splits every digit: the oracle must show it, or the
        // two vocabularies would not test two pre-tokenizers.
        JsonNode llama3 = vocabulary("bpe-llama3"), qwen2 = vocabulary("bpe-qwen2");
        int differing = 0;
        for (int i = 0; i < llama3.get("cases").size(); i++) {
            if (!llama3.get("cases").get(i).get("ids").equals(qwen2.get("cases").get(i).get("ids"))) {
                differing++;
                assertTrue(llama3.get("cases").get(i).get("text").asText().matches("(?s).*\\d\\d.*"),
                        "a text without adjacent digits tokenizes differently under the two pre-tokenizers");
            }
        }
        assertTrue(differing >= 1, "no text separates the Llama 3 and Qwen 2 pre-tokenizers");
    }

    /** Texts in failure messages with their control characters visible. */
    private static final class SafeQuote {
        static String of(String s) {
            return "'" + s.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + "'";
        }
    }
}
