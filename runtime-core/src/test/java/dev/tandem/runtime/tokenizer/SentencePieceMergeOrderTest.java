package dev.tandem.runtime.tokenizer;

import dev.tandem.conformance.SharedData;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The priority-queue merge must pick exactly the pairs run.c's rescanning loop picks, ties
 * included. Checked against a direct transcription of that loop on random text.
 */
class SentencePieceMergeOrderTest {
    private static SentencePieceTokenizer tokenizer;
    private static Map<String, Integer> idsByPiece;

    @BeforeAll
    static void load() throws IOException {
        tokenizer = SentencePieceTokenizer.fromLlama2cFile(SharedData.file("models/llama2-tokenizer.bin"));
        idsByPiece = new HashMap<>();
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            idsByPiece.putIfAbsent(tokenizer.piece(id), id); // Llama 2 pieces are all valid UTF-8
        }
    }

    /** run.c's encode: rescan all pairs after every merge, take the first strictly best. */
    private static int[] slowEncode(String text) {
        List<Integer> tokens = new ArrayList<>();
        tokens.add(1);
        if (!text.isEmpty()) {
            tokens.add(idsByPiece.get(" "));
        }
        text.codePoints().forEach(cp -> {
            Integer id = idsByPiece.get(Character.toString(cp));
            if (id != null) {
                tokens.add(id);
            } else {
                for (byte b : Character.toString(cp).getBytes(StandardCharsets.UTF_8)) {
                    tokens.add((b & 0xFF) + 3);
                }
            }
        });
        while (true) {
            float best = -1e10f;
            int bestId = -1;
            int bestIndex = -1;
            for (int i = 0; i + 1 < tokens.size(); i++) { // run.c lets BOS take part too; "\n<s>\n" + x is never a piece
                Integer id = idsByPiece.get(tokenizer.piece(tokens.get(i)) + tokenizer.piece(tokens.get(i + 1)));
                if (id != null && tokenizer.score(id) > best) {
                    best = tokenizer.score(id);
                    bestId = id;
                    bestIndex = i;
                }
            }
            if (bestIndex < 0) {
                break;
            }
            tokens.set(bestIndex, bestId);
            tokens.remove(bestIndex + 1);
        }
        return tokens.stream().mapToInt(Integer::intValue).toArray();
    }

    @Test
    void sameIdsAsRescanningOnRandomText() {
        int[] alphabet = "aeiou tnsrhl  the and ing,.'\n\t0123日本語éßПри😀".codePoints().toArray();
        Random random = new Random(1);
        for (int trial = 0; trial < 300; trial++) {
            StringBuilder s = new StringBuilder();
            int length = random.nextInt(60);
            for (int i = 0; i < length; i++) {
                s.appendCodePoint(alphabet[random.nextInt(alphabet.length)]);
            }
            String text = s.toString();
            assertArrayEquals(slowEncode(text), tokenizer.encode(text, true, false), text);
        }
    }

    @Test
    void longInputEncodesAndRoundTrips() {
        String paragraph = "Once upon a time, there was a little girl named Lily. She liked to play outside 日本語 😀.\n";
        String text = paragraph.repeat(1500); // ~130k characters: quadratic merging would take minutes
        int[] ids = tokenizer.encode(text, true, false);
        assertEquals(text, tokenizer.decode(ids));
    }
}
