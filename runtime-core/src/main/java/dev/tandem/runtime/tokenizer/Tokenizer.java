package dev.tandem.runtime.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Turns text into token ids and token ids back into bytes.
 *
 * <p>Decoding works on bytes, not Strings, because one token may hold only part of a UTF-8
 * character (byte-fallback and byte-level tokens); {@link StreamingDecoder} reassembles them.
 */
public interface Tokenizer {

    /** Encodes {@code text} (as UTF-8), optionally with BOS first and EOS last. */
    int[] encode(String text, boolean bos, boolean eos);

    /**
     * Encodes raw bytes, which need not be valid UTF-8: the input a model sees may be any bytes,
     * and byte-fallback/byte-level vocabularies can represent all of them.
     */
    int[] encode(byte[] utf8, boolean bos, boolean eos);

    /**
     * The bytes that {@code token} contributes to the output when it follows {@code prevToken}
     * (-1 when there is none). The previous token matters for SentencePiece, whose first piece
     * after BOS drops its leading space.
     *
     * @throws IllegalArgumentException when {@code token} is not in the vocabulary
     */
    byte[] decodePiece(int prevToken, int token);

    /**
     * Decodes a whole sequence: the concatenated {@link #decodePiece} bytes of the tokens that are
     * not {@linkplain #isControl control} tokens (those still count as the previous token), read as
     * UTF-8 with malformed input replaced by U+FFFD.
     */
    default String decode(int[] ids) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int prev = -1;
        for (int id : ids) {
            if (!isControl(id)) {
                bytes.writeBytes(decodePiece(prev, id));
            }
            prev = id;
        }
        return new String(bytes.toByteArray(), StandardCharsets.UTF_8);
    }

    /** Number of token ids; valid ids are 0 .. vocabSize()-1. */
    int vocabSize();

    /**
     * The id text becomes when the vocabulary has no piece for it (SentencePiece's unknown piece), or
     * -1 when every input has a representation (byte fallback, byte-level BPE).
     */
    default int unknown() { return -1; }

    /** How many of ids are the unknown id: text the model will not see as written. */
    default int countUnknown(int[] ids) {
        int unk = unknown(), n = 0;
        if (unk >= 0) {
            for (int id : ids) {
                if (id == unk) n++;
            }
        }
        return n;
    }

    /** Beginning-of-sequence id, or -1 if the vocabulary has none. */
    int bos();

    /** End-of-sequence id, or -1 if the vocabulary has none. */
    int eos();

    /** The vocabulary entry for {@code id} as its source file spells it (for logs and debugging). */
    String piece(int id);

    /** Whether {@code id} is a control token (BOS, EOS, chat markers): not text, not printed by {@link #decode}. */
    boolean isControl(int id);
}
