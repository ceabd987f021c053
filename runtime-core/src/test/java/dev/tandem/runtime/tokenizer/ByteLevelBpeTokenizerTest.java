package dev.tandem.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.runtime.error.ModelFormatException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Byte-level BPE on a small hand-built vocabulary. Expected ids were worked out by hand from the
 * merge list below, not by running the tokenizer.
 *
 * <p>Ids 0..255 are the single-byte tokens in byte order, so a byte's id is its value
 * ('a' = 97, ' ' = 32, '\n' = 10).
 */
class ByteLevelBpeTokenizerTest {
    static final Path FILE = Path.of("test-vocab.gguf");
    static final int G_T = 256, HE = 257, G_THE = 258, TH = 259, IN = 260, G_IN = 261, APOS_S = 262;
    static final int N12 = 263, N123 = 264, NLNL = 265, BEGIN = 266, EOT = 267, TOOL = 268, AB = 269, BC = 270;

    // Rank = position. "b c" before "a b" so "abc" becomes a + bc; "h e" before "t h" so "the" becomes t + he.
    static final String[] MERGES = {
        "Ġ t", "h e", "Ġt he", "t h", "i n", "Ġ in", "' s", "1 2", "12 3", "Ċ Ċ", "b c", "a b",
    };

    static ByteLevelBpeTokenizer tokenizer(String pre) {
        List<String> tokens = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            tokens.add(String.valueOf(gpt2Char(b)));
        }
        tokens.addAll(List.of("Ġt", "he", "Ġthe", "th", "in", "Ġin", "'s", "12", "123", "ĊĊ",
                "<|begin_of_text|>", "<|eot_id|>", "<tool>", "ab", "bc"));
        int[] types = new int[tokens.size()];
        Arrays.fill(types, GgufTokenType.NORMAL);
        types[BEGIN] = GgufTokenType.CONTROL;
        types[EOT] = GgufTokenType.CONTROL;
        types[TOOL] = GgufTokenType.USER_DEFINED;
        return ByteLevelBpeTokenizer.fromGguf(FILE, tokens.toArray(String[]::new), MERGES, types, BEGIN, EOT, pre);
    }

    /** GPT-2's bytes_to_unicode, written out independently of the main code. */
    static char gpt2Char(int b) {
        if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) {
            return (char) b;
        }
        int rank = 0; // how many non-printable bytes come before b
        for (int x = 0; x < b; x++) {
            if (!((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF))) {
                rank++;
            }
        }
        return (char) (256 + rank);
    }

    private final ByteLevelBpeTokenizer llama3 = tokenizer("llama-bpe");
    private final ByteLevelBpeTokenizer gpt2 = tokenizer(null);

    @Test
    void mappingSpellsSpaceAndNewlineLikeGpt2() {
        assertEquals('Ġ', gpt2Char(' '));
        assertEquals('Ċ', gpt2Char('\n'));
        for (int b = 0; b < 256; b++) {
            assertEquals(gpt2Char(b), ByteUnicodeMapping.charOf(b));
            assertEquals(b, ByteUnicodeMapping.byteOf(gpt2Char(b)));
        }
    }

    @Test
    void lowerRankMergesFirstWhereverItIs() {
        assertArrayEquals(new int[] {'a', BC}, llama3.encode("abc", false, false));
        assertArrayEquals(new int[] {AB}, llama3.encode("ab", false, false));
        assertArrayEquals(new int[] {'t', HE}, llama3.encode("the", false, false));
        // Ġ t (rank 0), then h e (1), then Ġt he (2); t h (3) never gets a chance.
        assertArrayEquals(new int[] {G_THE}, llama3.encode(" the", false, false));
        assertArrayEquals(new int[] {AB, AB}, llama3.encode("abab", false, false));
    }

    @Test
    void spacesAttachToTheFollowingWord() {
        assertArrayEquals(new int[] {G_IN, G_THE}, llama3.encode(" in the", false, false));
        // Of two spaces the first stands alone (\s+(?!\S)) and the second starts " in".
        assertArrayEquals(new int[] {'a', ' ', G_IN}, llama3.encode("a  in", false, false));
    }

    @Test
    void contractionsSplitOff() {
        assertArrayEquals(new int[] {'i', 't', APOS_S}, llama3.encode("it's", false, false));
        assertEquals(List.of("IT", "'S"), PreTokenizer.LLAMA3.split("IT'S")); // Llama 3 ignores case
        assertEquals(List.of("IT", "'", "S"), PreTokenizer.GPT2.split("IT'S"));
        assertEquals(List.of("we", "'ll", " go"), PreTokenizer.LLAMA3.split("we'll go"));
    }

    @Test
    void llama3GroupsDigitsByThree() {
        assertEquals(List.of("123", "456", "7"), PreTokenizer.LLAMA3.split("1234567"));
        assertEquals(List.of("1234567"), PreTokenizer.GPT2.split("1234567"));
        assertEquals(List.of("1", "2", "3"), PreTokenizer.QWEN2.split("123"));
        assertArrayEquals(new int[] {N12, '1', '2'}, llama3.encode("1212", false, false)); // "121" + "2"
        assertArrayEquals(new int[] {N12, N12}, gpt2.encode("1212", false, false));
        assertArrayEquals(new int[] {N123, N12}, llama3.encode("12312", false, false));
    }

    @Test
    void newlinesAreTheirOwnWords() {
        assertEquals(List.of("a", "\n\n", "b"), PreTokenizer.LLAMA3.split("a\n\nb"));
        assertArrayEquals(new int[] {'a', NLNL, 'b'}, llama3.encode("a\n\nb", false, false));
        assertEquals(List.of("x", ":\n", "  ", " y"), PreTokenizer.LLAMA3.split("x:\n   y"));
        assertEquals(List.of(" ", "\u3000x"), PreTokenizer.LLAMA3.split(" \u3000x")); // Unicode space is \s too
    }

    @Test
    void specialTokensAreMatchedVerbatim() {
        assertArrayEquals(new int[] {BEGIN, 't', HE, EOT}, llama3.encode("<|begin_of_text|>the<|eot_id|>", false, false));
        assertArrayEquals(new int[] {' ', 'a', TOOL, 'b'}, llama3.encode(" a<tool>b", false, false));
        // An unfinished marker is just text.
        assertArrayEquals(new int[] {'<', '|', 'e', 'o', 't', '_', 'i', 'd'}, llama3.encode("<|eot_id", false, false));
    }

    @Test
    void bosAndEosComeFromTheMetadata() {
        assertArrayEquals(new int[] {BEGIN, 'x', EOT}, llama3.encode("x", true, true));
        assertEquals(BEGIN, llama3.bos());
        assertEquals(EOT, llama3.eos());
    }

    @Test
    void controlTokensDecodeToNothingUserDefinedToTheirText() {
        assertEquals("the <tool>", llama3.decode(new int[] {BEGIN, 't', HE, ' ', TOOL, EOT}));
        assertTrue(llama3.isControl(BEGIN));
        assertFalse(llama3.isControl(TOOL));
        assertArrayEquals(" the".getBytes(StandardCharsets.US_ASCII), llama3.decodePiece(BEGIN, G_THE));
        assertEquals("Ġthe", llama3.piece(G_THE));
    }

    @Test
    void rawBytesThatAreNotUtf8StillEncode() {
        byte[] raw = {'a', (byte) 0xFF, (byte) 0xC3, 'b', 'c'};
        int[] ids = llama3.encode(raw, false, false);
        assertArrayEquals(new int[] {'a', 0xFF, 0xC3, BC}, ids);
        java.io.ByteArrayOutputStream back = new java.io.ByteArrayOutputStream();
        for (int id : ids) {
            back.writeBytes(llama3.decodePiece(-1, id));
        }
        assertArrayEquals(raw, back.toByteArray());
    }

    @Test
    void randomUnicodeRoundTrips() {
        int[] alphabet = "aZé ß'sTd 0123456789.,!?\t\n\r日本語中文Привет🙂👍🏽🚀\u00a0\u3000ſİ\u0301".codePoints().toArray();
        Random random = new Random(42);
        for (int trial = 0; trial < 2000; trial++) {
            StringBuilder s = new StringBuilder();
            int length = random.nextInt(30);
            for (int i = 0; i < length; i++) {
                s.appendCodePoint(alphabet[random.nextInt(alphabet.length)]);
            }
            String text = s.toString();
            assertEquals(text, llama3.decode(llama3.encode(text, true, true)), "llama3");
            assertEquals(text, gpt2.decode(gpt2.encode(text, false, false)), "gpt2");
            assertArrayEquals(llama3.encode(text, false, false),
                    llama3.encode(text.getBytes(StandardCharsets.UTF_8), false, false), "String and byte[] agree");
        }
    }

    @Test
    void streamingHoldsBackSplitCharacters() {
        // '日' = E6 97 A5: three byte tokens, one character.
        int[] ids = llama3.encode("日", false, false);
        assertArrayEquals(new int[] {0xE6, 0x97, 0xA5}, ids);
        StreamingDecoder stream = new StreamingDecoder(llama3);
        assertEquals("", stream.accept(ids[0]));
        assertEquals("", stream.accept(ids[1]));
        assertEquals("日", stream.accept(ids[2]));
        assertEquals("", stream.finish());
    }

    @Test
    void vocabularyWithoutEveryByteIsRejected() {
        String[] tokens = {"a", "b"};
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> ByteLevelBpeTokenizer.fromGguf(FILE, tokens, new String[0], null, -1, -1, null));
        assertTrue(e.getMessage().contains("tokenizer.ggml.tokens"), e.getMessage());
        assertTrue(e.getMessage().contains(FILE.toString()), e.getMessage());
    }

    @Test
    void malformedMergeAndUnknownPreAreRejected() {
        ByteLevelBpeTokenizer ok = tokenizer("gpt2");
        assertEquals(PreTokenizer.GPT2, ok.preTokenizer());
        String[] tokens = new String[256];
        for (int b = 0; b < 256; b++) {
            tokens[b] = String.valueOf(gpt2Char(b));
        }
        ModelFormatException badMerge = assertThrows(ModelFormatException.class,
                () -> ByteLevelBpeTokenizer.fromGguf(FILE, tokens, new String[] {"ab"}, null, -1, -1, null));
        assertTrue(badMerge.getMessage().contains("tokenizer.ggml.merges[0]"), badMerge.getMessage());
        ModelFormatException badPre = assertThrows(ModelFormatException.class,
                () -> ByteLevelBpeTokenizer.fromGguf(FILE, tokens, new String[0], null, -1, -1, "made-up"));
        assertTrue(badPre.getMessage().contains("made-up"), badPre.getMessage());
    }
}
