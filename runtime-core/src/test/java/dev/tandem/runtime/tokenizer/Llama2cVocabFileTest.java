package dev.tandem.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.runtime.error.ModelFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Malformed tokenizer.bin files fail with the file and the offset of the bad field, never an index or memory error. */
class Llama2cVocabFileTest {
    @TempDir
    Path dir;

    private Path write(ByteBuffer content) throws IOException {
        Path file = dir.resolve("tokenizer.bin");
        Files.write(file, java.util.Arrays.copyOf(content.array(), content.position()));
        return file;
    }

    private static ByteBuffer buffer() {
        return ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void assertFailsAt(Path file, long offset, String problem) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> SentencePieceTokenizer.fromLlama2cFile(file));
        assertEquals(file, e.file());
        assertEquals(offset, e.offset(), e.getMessage());
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("offset " + offset), e.getMessage());
        assertTrue(e.getMessage().contains(problem), e.getMessage());
    }

    @Test
    void wellFormedFileLoads() throws IOException {
        ByteBuffer b = buffer().putInt(3);
        b.putFloat(0f).putInt(1).put((byte) 'a');
        b.putFloat(-1f).putInt(2).put(new byte[] {'a', 'b'});
        SentencePieceTokenizer t = SentencePieceTokenizer.fromLlama2cFile(write(b));
        assertEquals(2, t.vocabSize());
        assertEquals("ab", t.piece(1));
        assertEquals(-1f, t.score(1));
    }

    @Test
    void fileShorterThanTheHeader() throws IOException {
        assertFailsAt(write(buffer().put((byte) 1).put((byte) 2)), 0, "truncated");
    }

    @Test
    void emptyVocabulary() throws IOException {
        assertFailsAt(write(buffer().putInt(4)), 4, "no pieces");
    }

    @Test
    void recordCutInsideScoreAndLength() throws IOException {
        ByteBuffer b = buffer().putInt(4);
        b.putFloat(0f).putInt(1).put((byte) 'a'); // record 0: offsets 4..12
        b.putFloat(0f).put((byte) 0);            // record 1 starts at 13, only 5 bytes
        assertFailsAt(write(b), 13, "truncated");
    }

    @Test
    void negativeLength() throws IOException {
        ByteBuffer b = buffer().putInt(4);
        b.putFloat(0f).putInt(-5);
        assertFailsAt(write(b), 8, "negative length");
    }

    @Test
    void lengthPastTheEnd() throws IOException {
        ByteBuffer b = buffer().putInt(4);
        b.putFloat(0f).putInt(Integer.MAX_VALUE).put(new byte[] {'x', 'y'});
        assertFailsAt(write(b), 8, "past the end");
    }

    @Test
    void negativeMaxTokenLength() throws IOException {
        assertFailsAt(write(buffer().putInt(-1)), 0, "max_token_length");
    }

    @Test
    void fewerPiecesThanTheModelsVocabulary() throws IOException {
        ByteBuffer b = buffer().putInt(4);
        b.putFloat(0f).putInt(1).put((byte) 'a');
        Path file = write(b);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> SentencePieceTokenizer.fromLlama2cFile(file, 2));
        assertEquals(13, e.offset());
        assertTrue(e.getMessage().contains("expected 2 pieces"), e.getMessage());
    }

    @Test
    void tinyVocabularyStillEncodesAnything() throws IOException {
        // Too small for byte pieces at 3..258: unknown characters become <unk> (id 0) instead of ids past the end.
        ByteBuffer b = buffer().putInt(4);
        for (String piece : new String[] {"<unk>", "\n<s>\n", "\n</s>\n", " "}) {
            b.putFloat(0f).putInt(piece.length()).put(piece.getBytes());
        }
        SentencePieceTokenizer t = SentencePieceTokenizer.fromLlama2cFile(write(b));
        // BOS, dummy-prefix ' ', then é's two bytes C3 A9 as <unk>.
        assertArrayEquals(new int[] {1, 3, 0, 0}, t.encode("é", true, false));
    }
}
