package dev.tandem.runtime.tokenizer;

import dev.tandem.conformance.SharedData;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import org.junit.jupiter.api.Test;

class StreamingDecoderTest {

    @Test
    void emojiSplitOverByteFallbackPiecesComesOutWhole() throws IOException {
        Tokenizer t = SentencePieceTokenizer.fromLlama2cFile(SharedData.file("models/llama2-tokenizer.bin"));
        // Llama 2 has no piece for 😀 (F0 9F 98 80): four <0xXX> pieces, ids byte + 3.
        int[] ids = t.encode("a😀b", true, false);
        assertArrayEquals(new int[] {1, 263, 243, 162, 155, 131, 29890}, ids);
        StreamingDecoder stream = new StreamingDecoder(t);
        StringBuilder shown = new StringBuilder();
        String[] expectedPerToken = {"", "a", "", "", "", "😀", "b"};
        for (int i = 0; i < ids.length; i++) {
            String out = stream.accept(ids[i]);
            assertEquals(expectedPerToken[i], out, "after token " + i);
            shown.append(out);
        }
        assertEquals("a😀b", shown.toString());
        assertEquals("", stream.finish());
    }

    @Test
    void startsAfterThePromptsLastToken() throws IOException {
        Tokenizer t = SentencePieceTokenizer.fromLlama2cFile(SharedData.file("models/llama2-tokenizer.bin"));
        // After BOS the first piece's space is the dummy prefix, not text.
        assertEquals("Hello", new StreamingDecoder(t, t.bos()).accept(15043));
        assertEquals(" Hello", new StreamingDecoder(t, 15043).accept(15043));
    }

    @Test
    void unfinishedCharacterIsReplacedOnFinishAndInvalidBytesAtOnce() {
        Tokenizer t = ByteLevelBpeTokenizerTest.tokenizer("llama3");
        StreamingDecoder stream = new StreamingDecoder(t);
        assertEquals("", stream.accept(0xE6));        // first of three bytes of '日'
        assertEquals("\uFFFDx", stream.accept('x'));  // the character can no longer complete
        assertEquals("\uFFFD", stream.accept(0xFF));  // never valid in UTF-8: not held back
        assertEquals("", stream.accept(0xF0));
        assertEquals("\uFFFD", stream.finish());
    }
}
