package dev.tandem.runtime.tokenizer;

import dev.tandem.runtime.error.ModelFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads llama2.c's {@code tokenizer.bin}: int32 max_token_length, then per piece a float32 score,
 * an int32 byte length and the piece's bytes, all little-endian. The file has no count: llama2.c
 * takes the vocabulary size from the model header, so without one we read pieces until EOF.
 */
final class Llama2cVocabFile {
    /** Far above any real vocabulary (Llama 2's is 434 KB); keeps a bogus path from exhausting memory. */
    private static final long MAX_FILE_BYTES = 1L << 30;

    record Contents(byte[][] pieces, float[] scores, int maxTokenLength) {}

    private Llama2cVocabFile() {}

    /** @param vocabSize pieces to read, or -1 for all pieces up to EOF */
    static Contents read(Path file, int vocabSize) throws IOException {
        long size = Files.size(file);
        if (size > MAX_FILE_BYTES) {
            throw new ModelFormatException(file, 0, "file is " + size + " bytes, too large for a tokenizer.bin");
        }
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        if (in.remaining() < 4) {
            throw new ModelFormatException(file, 0, "truncated: no int32 max_token_length header");
        }
        int maxTokenLength = in.getInt();
        if (maxTokenLength < 0) {
            throw new ModelFormatException(file, 0, "negative max_token_length " + maxTokenLength);
        }
        List<byte[]> pieces = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        while (vocabSize < 0 ? in.hasRemaining() : pieces.size() < vocabSize) {
            int recordStart = in.position();
            if (in.remaining() < 8) {
                throw new ModelFormatException(file, recordStart, "truncated: piece " + pieces.size()
                        + " needs 8 bytes of score and length, " + in.remaining() + " left"
                        + (vocabSize >= 0 ? " (expected " + vocabSize + " pieces)" : ""));
            }
            float score = in.getFloat();
            int length = in.getInt();
            if (length < 0) {
                throw new ModelFormatException(file, recordStart + 4, "piece " + pieces.size() + " has negative length " + length);
            }
            if (length > in.remaining()) {
                throw new ModelFormatException(file, recordStart + 4, "piece " + pieces.size() + " length " + length
                        + " runs past the end of the file (" + in.remaining() + " bytes left)");
            }
            byte[] piece = new byte[length];
            in.get(piece);
            pieces.add(piece);
            scores.add(score);
        }
        if (pieces.isEmpty()) {
            throw new ModelFormatException(file, 4, "no pieces");
        }
        float[] scoreArray = new float[scores.size()];
        for (int i = 0; i < scoreArray.length; i++) {
            scoreArray[i] = scores.get(i);
        }
        return new Contents(pieces.toArray(byte[][]::new), scoreArray, maxTokenLength);
    }
}
