package dev.tandem.runtime.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Decodes generated tokens one at a time into text that can be printed at once.
 *
 * <p>A character may arrive split over several tokens (three {@code <0xXX>} byte pieces for
 * '日', or byte-level BPE tokens that cut a character). Printing each token's bytes on their own
 * would show U+FFFD for each part, so the trailing bytes of an incomplete character are held back
 * until the rest arrives. Bytes that can never form a character are replaced by U+FFFD as soon as
 * that is certain. Control tokens print nothing, as in {@link Tokenizer#decode}.
 *
 * <p>Not thread-safe: one decoder per output stream.
 */
public final class StreamingDecoder {
    private final Tokenizer tokenizer;
    private int prevToken;
    private byte[] pending = new byte[16];
    private int pendingLength;

    /** A decoder for output that starts a sequence (no previous token). */
    public StreamingDecoder(Tokenizer tokenizer) {
        this(tokenizer, -1);
    }

    /**
     * A decoder for tokens that follow {@code prevToken}, usually the last prompt token: after
     * BOS, a SentencePiece tokenizer drops the leading space of the first piece.
     */
    public StreamingDecoder(Tokenizer tokenizer, int prevToken) {
        this.tokenizer = tokenizer;
        this.prevToken = prevToken;
    }

    /** Takes the next token; returns the text it completes, possibly empty. */
    public String accept(int token) {
        byte[] bytes = tokenizer.isControl(token) ? new byte[0] : tokenizer.decodePiece(prevToken, token);
        prevToken = token;
        append(bytes);
        int ready = pendingLength - Utf8.incompleteTailLength(pending, pendingLength);
        return take(ready);
    }

    /** Returns whatever is still held back (an unfinished character becomes U+FFFD) and empties the buffer. */
    public String finish() {
        return take(pendingLength);
    }

    private void append(byte[] bytes) {
        if (pendingLength + bytes.length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + bytes.length));
        }
        System.arraycopy(bytes, 0, pending, pendingLength, bytes.length);
        pendingLength += bytes.length;
    }

    private String take(int count) {
        String text = new String(pending, 0, count, StandardCharsets.UTF_8);
        System.arraycopy(pending, count, pending, 0, pendingLength - count);
        pendingLength -= count;
        return text;
    }
}
