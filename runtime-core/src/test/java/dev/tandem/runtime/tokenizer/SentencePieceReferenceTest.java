package dev.tandem.runtime.tokenizer;

import dev.tandem.conformance.SharedData;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Every case of shared/reference/llama2_tokenizer.json: llama2.c run.c encode and decode on the Llama 2 vocabulary. */
class SentencePieceReferenceTest {
    private static SentencePieceTokenizer tokenizer;
    private static JsonNode reference;

    @BeforeAll
    static void load() throws IOException {
        tokenizer = SentencePieceTokenizer.fromLlama2cFile(SharedData.file("models/llama2-tokenizer.bin"));
        reference = new ObjectMapper().readTree(SharedData.file("reference/llama2_tokenizer.json").toFile());
    }

    @Test
    void vocabularyMatchesTheReference() {
        assertEquals(reference.path("tokenizer").path("vocab_size").asInt(), tokenizer.vocabSize());
        assertEquals(1, tokenizer.bos());
        assertEquals(2, tokenizer.eos());
        assertEquals("<0x0A>", tokenizer.piece(13));
        assertEquals(" Hello", tokenizer.piece(15043)); // llama2.c stores ' ', not '▁'
    }

    @Test
    void explicitVocabSizeReadsOnlyThatManyPieces() throws IOException {
        Tokenizer small = SentencePieceTokenizer.fromLlama2cFile(SharedData.file("models/llama2-tokenizer.bin"), 300);
        assertEquals(300, small.vocabSize());
    }

    @TestFactory
    Stream<DynamicTest> encodeMatchesRunC() {
        return cases().stream().map(c -> DynamicTest.dynamicTest(name(c), () -> {
            int[] expected = ints(c.get("expected_ids"));
            assertArrayEquals(expected, encode(c), "ids for " + name(c));
        }));
    }

    @TestFactory
    Stream<DynamicTest> decodeMatchesRunC() {
        return cases().stream().map(c -> DynamicTest.dynamicTest(name(c), () -> {
            int[] ids = ints(c.get("expected_ids"));
            ByteArrayOutputStream decoded = new ByteArrayOutputStream();
            for (int i = 1; i < ids.length; i++) {
                decoded.writeBytes(tokenizer.decodePiece(ids[i - 1], ids[i]));
            }
            assertEquals(c.get("decoded_utf8_hex").asText(), HexFormat.of().formatHex(decoded.toByteArray()), name(c));
        }));
    }

    @TestFactory
    Stream<DynamicTest> convenienceDecodeGivesTheText() {
        return cases().stream().filter(c -> c.get("kind").asText().equals("text")).map(c ->
                DynamicTest.dynamicTest(name(c), () ->
                        assertEquals(c.get("text").asText(), tokenizer.decode(ints(c.get("expected_ids"))))));
    }

    @TestFactory
    Stream<DynamicTest> streamingDecodeGivesTheText() {
        return cases().stream().filter(c -> c.get("kind").asText().equals("text")).map(c ->
                DynamicTest.dynamicTest(name(c), () -> {
                    StreamingDecoder stream = new StreamingDecoder(tokenizer);
                    StringBuilder out = new StringBuilder();
                    for (int id : ints(c.get("expected_ids"))) {
                        out.append(stream.accept(id));
                    }
                    out.append(stream.finish());
                    assertEquals(c.get("text").asText(), out.toString());
                }));
    }

    @Test
    void eosIsAppendedOnRequest() {
        assertArrayEquals(new int[] {15043, 2}, tokenizer.encode("Hello", false, true));
    }

    @Test
    void rawBytesCaseIsPresent() {
        // The raw-bytes path must be exercised, not silently absent from the reference.
        assertFalse(cases().stream().noneMatch(c -> c.get("kind").asText().equals("raw_bytes")));
    }

    private static int[] encode(JsonNode c) {
        String kind = c.get("kind").asText();
        byte[] bytes = HexFormat.of().parseHex(c.get("utf8_hex").asText());
        if (kind.equals("raw_bytes")) {
            return tokenizer.encode(bytes, true, false);
        }
        assertEquals("text", kind);
        String text = c.get("text").asText();
        assertArrayEquals(bytes, text.getBytes(StandardCharsets.UTF_8));
        int[] fromString = tokenizer.encode(text, true, false);
        assertArrayEquals(fromString, tokenizer.encode(bytes, true, false), "String and byte[] encode disagree");
        return fromString;
    }

    private static List<JsonNode> cases() {
        JsonNode cases = reference.get("cases");
        assertNotNull(cases);
        List<JsonNode> list = new ArrayList<>();
        cases.forEach(list::add);
        assertFalse(list.isEmpty());
        return list;
    }

    private static String name(JsonNode c) {
        return "case " + c.get("id").asInt() + " " + c.get("kind").asText() + " " + c.get("utf8_hex").asText();
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }
}
