package dev.tandem.runtime.tokenizer;

import dev.tandem.conformance.SharedData;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.runtime.error.ModelFormatException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** GGUF tokenizer metadata, as a GGUF reader hands it over, built here by hand. */
class TokenizersTest {
    private static final Path FILE = Path.of("model.gguf");

    /** The Llama 2 vocabulary spelled the GGUF way: '▁' for spaces, typed byte and control pieces. */
    private static Map<String, Object> llama2AsGguf() throws IOException {
        SentencePieceTokenizer bin = SentencePieceTokenizer.fromLlama2cFile(SharedData.file("models/llama2-tokenizer.bin"));
        int n = bin.vocabSize();
        String[] tokens = new String[n];
        float[] scores = new float[n];
        int[] types = new int[n];
        for (int id = 0; id < n; id++) {
            tokens[id] = bin.piece(id).replace(' ', '\u2581');
            scores[id] = bin.score(id);
            types[id] = id == 0 ? GgufTokenType.UNKNOWN
                    : id <= 2 ? GgufTokenType.CONTROL
                    : id < 259 ? GgufTokenType.BYTE : GgufTokenType.NORMAL;
        }
        tokens[1] = "<s>"; // GGUF files name the control pieces plainly
        tokens[2] = "</s>";
        Map<String, Object> m = new HashMap<>();
        m.put("general.architecture", "llama");
        m.put("tokenizer.ggml.model", "llama");
        m.put("tokenizer.ggml.tokens", tokens);
        m.put("tokenizer.ggml.scores", scores);
        m.put("tokenizer.ggml.token_type", types);
        m.put("tokenizer.ggml.bos_token_id", 1L); // a reader may give UINT32 as Long
        m.put("tokenizer.ggml.eos_token_id", 2);
        return m;
    }

    @Test
    void ggufLlamaVocabularyGivesTheReferenceIdsAndBytes() throws IOException {
        Tokenizer t = Tokenizers.fromGgufMetadata(FILE, llama2AsGguf()).orElseThrow();
        assertInstanceOf(SentencePieceTokenizer.class, t);
        assertEquals("▁Hello", t.piece(15043));
        JsonNode reference = new ObjectMapper().readTree(SharedData.file("reference/llama2_tokenizer.json").toFile());
        for (JsonNode c : reference.get("cases")) {
            byte[] input = HexFormat.of().parseHex(c.get("utf8_hex").asText());
            int[] expected = new int[c.get("expected_ids").size()];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = c.get("expected_ids").get(i).asInt();
            }
            assertArrayEquals(expected, t.encode(input, true, false), "case " + c.get("id"));
            ByteArrayOutputStream decoded = new ByteArrayOutputStream();
            for (int i = 1; i < expected.length; i++) {
                decoded.writeBytes(t.decodePiece(expected[i - 1], expected[i]));
            }
            assertEquals(c.get("decoded_utf8_hex").asText(), HexFormat.of().formatHex(decoded.toByteArray()), "case " + c.get("id"));
        }
        assertEquals("", new String(t.decodePiece(-1, 2))); // control pieces print nothing
    }

    @Test
    void typedSpecialTextIsNotMergedIntoControlTokens() throws IOException {
        Tokenizer t = Tokenizers.fromGgufMetadata(FILE, llama2AsGguf()).orElseThrow();
        for (int id : t.encode("<s></s>", false, false)) {
            assertTrue(id > 2, "id " + id);
        }
    }

    /** What shared/models/stories260K-*.gguf carry: "<0>".."<511>", scores 0, types 2,2,2,1,... */
    private static Map<String, Object> placeholderVocabulary() {
        String[] tokens = new String[512];
        int[] types = new int[512];
        for (int i = 0; i < 512; i++) {
            tokens[i] = "<" + i + ">";
            types[i] = i < 3 ? GgufTokenType.UNKNOWN : GgufTokenType.NORMAL;
        }
        Map<String, Object> m = new HashMap<>();
        m.put("tokenizer.ggml.model", "llama");
        m.put("tokenizer.ggml.tokens", tokens);
        m.put("tokenizer.ggml.scores", new float[512]);
        m.put("tokenizer.ggml.token_type", types);
        m.put("tokenizer.ggml.unknown_token_id", 0);
        m.put("tokenizer.ggml.bos_token_id", 1);
        m.put("tokenizer.ggml.eos_token_id", 2);
        return m;
    }

    @Test
    void placeholderVocabularyLoadsAndWorksInIdSpace() {
        Tokenizer t = Tokenizers.fromGgufMetadata(FILE, placeholderVocabulary()).orElseThrow();
        assertEquals(512, t.vocabSize());
        assertEquals(1, t.bos());
        assertEquals(2, t.eos());
        assertTrue(t.isControl(1));
        assertEquals("<42>", t.piece(42));
        assertEquals("<42><7>", t.decode(new int[] {1, 42, 7, 2}));
        // No piece spells real text and there are no byte pieces: everything is <unk>.
        assertArrayEquals(new int[] {1, 0, 0, 0}, t.encode("hi", true, false));
    }

    @Test
    void gpt2ModelGivesByteLevelBpe() {
        String[] tokens = new String[258];
        for (int b = 0; b < 256; b++) {
            tokens[b] = String.valueOf(ByteLevelBpeTokenizerTest.gpt2Char(b));
        }
        tokens[256] = "hi";
        tokens[257] = "<|begin_of_text|>";
        int[] types = new int[258];
        java.util.Arrays.fill(types, GgufTokenType.NORMAL);
        types[257] = GgufTokenType.CONTROL;
        Map<String, Object> m = new HashMap<>();
        m.put("tokenizer.ggml.model", "gpt2");
        m.put("tokenizer.ggml.pre", "llama-bpe");
        m.put("tokenizer.ggml.tokens", List.of(tokens)); // a List is accepted as well as an array
        m.put("tokenizer.ggml.merges", new String[] {"h i"});
        m.put("tokenizer.ggml.token_type", types);
        m.put("tokenizer.ggml.bos_token_id", 257);
        Tokenizer t = Tokenizers.fromGgufMetadata(FILE, m).orElseThrow();
        assertInstanceOf(ByteLevelBpeTokenizer.class, t);
        assertEquals(PreTokenizer.LLAMA3, ((ByteLevelBpeTokenizer) t).preTokenizer());
        assertArrayEquals(new int[] {257, 256, 'i'}, t.encode("hii", true, true)); // no EOS id: none appended
        assertEquals(-1, t.eos());
    }

    @Test
    void noTokenizerKeysMeansNoTokenizer() {
        assertTrue(Tokenizers.fromGgufMetadata(FILE, Map.of("general.architecture", "llama")).isEmpty());
        assertTrue(Tokenizers.fromGgufMetadata(FILE, Map.of("tokenizer.ggml.model", "no_vocab")).isEmpty());
    }

    private static void assertRejected(Map<String, Object> metadata, String... mentions) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Tokenizers.fromGgufMetadata(FILE, metadata));
        assertTrue(e.getMessage().contains(FILE.toString()), e.getMessage());
        for (String m : mentions) {
            assertTrue(e.getMessage().contains(m), "'" + m + "' not in: " + e.getMessage());
        }
    }

    @Test
    void badMetadataIsRejectedNamingTheKey() {
        Map<String, Object> m = placeholderVocabulary();
        m.remove("tokenizer.ggml.tokens");
        assertRejected(m, "tokenizer.ggml.tokens", "missing");

        m = placeholderVocabulary();
        m.put("tokenizer.ggml.scores", new double[512]);
        assertRejected(m, "tokenizer.ggml.scores", "double[]");

        m = placeholderVocabulary();
        m.put("tokenizer.ggml.scores", new float[3]);
        assertRejected(m, "tokenizer.ggml.scores", "3");

        m = placeholderVocabulary();
        m.put("tokenizer.ggml.token_type", new int[511]);
        assertRejected(m, "tokenizer.ggml.token_type");

        m = placeholderVocabulary();
        m.put("tokenizer.ggml.bos_token_id", 512);
        assertRejected(m, "tokenizer.ggml.bos_token_id", "512");

        m = placeholderVocabulary();
        m.put("tokenizer.ggml.eos_token_id", "2");
        assertRejected(m, "tokenizer.ggml.eos_token_id", "String");

        m = placeholderVocabulary();
        m.put("tokenizer.ggml.model", "rwkv");
        assertRejected(m, "tokenizer.ggml.model", "rwkv");

        m = placeholderVocabulary();
        m.put("tokenizer.ggml.model", "gpt2");
        assertRejected(m, "tokenizer.ggml.merges");

        m = placeholderVocabulary();
        m.remove("tokenizer.ggml.model");
        assertRejected(m, "tokenizer.ggml.model");
    }
}
