package dev.tandem.runtime.format;

import dev.tandem.runtime.error.ModelFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Llama2cCheckpointTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @TempDir
    Path dir;

    /** A checkpoint whose float i is i (so every section's first value tells its offset), for a given header. */
    static byte[] checkpoint(int dim, int hidden, int layers, int heads, int kvHeads, int vocab, int seqLen) {
        int kv = dim / heads * kvHeads;
        long floats = (long) Math.abs(vocab) * dim + layers * (2L * dim + 2L * dim * dim + 2L * kv * dim + 3L * hidden * dim)
                + dim + (long) seqLen * (dim / heads) + (vocab < 0 ? (long) -vocab * dim : 0);
        ByteBuffer b = ByteBuffer.allocate((int) (28 + 4 * floats)).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : new int[] {dim, hidden, layers, heads, kvHeads, vocab, seqLen}) {
            b.putInt(v);
        }
        for (int i = 0; i < floats; i++) {
            b.putFloat(i);
        }
        return b.array();
    }

    @Test
    void sectionsFollowRunCOrder() {
        Random r = new Random();
        int heads = 2 + 2 * r.nextInt(2), dim = heads * 4, kvHeads = heads / 2, hidden = 12, layers = 2, vocab = 10, seq = 6;
        byte[] bytes = checkpoint(dim, hidden, layers, heads, kvHeads, -vocab, seq);
        Path file = FormatAssertions.write(dir, "m.bin", bytes);
        try (Llama2cCheckpoint c = Llama2cCheckpoint.open(file)) {
            Llama2cCheckpoint.Header h = c.header();
            assertEquals(new Llama2cCheckpoint.Header(dim, hidden, layers, heads, kvHeads, vocab, seq, false), h);
            int kv = h.kvDim();
            long at = 0;
            at = check(c.section("token_embedding"), at, vocab, dim);
            long rmsAtt = at;
            at += (long) layers * dim;
            assertEquals(rmsAtt + dim, firstFloat(c.layer("rms_att", 1)));
            long wq0 = at;
            assertEquals(wq0, firstFloat(c.layer("wq", 0)));
            at += (long) layers * dim * dim;
            assertEquals(at + kv * dim, firstFloat(c.layer("wk", 1)));
            assertEquals(kv, c.layer("wk", 1).rows());
            at += (long) layers * kv * dim * 2 + (long) layers * dim * dim + (long) layers * dim;
            assertEquals(at, firstFloat(c.layer("w1", 0)));
            assertEquals(dim, c.layer("w2", 0).rows());
            assertEquals(hidden, c.layer("w2", 0).cols());
            at += 3L * layers * hidden * dim;
            at = check(c.section("rms_final"), at, 1, dim);
            at = check(c.section("freq_cis_real"), at, seq, dim / heads / 2);
            at = check(c.section("freq_cis_imag"), at, seq, dim / heads / 2);
            at = check(c.section("wcls"), at, vocab, dim);
            assertEquals(bytes.length, 28 + 4 * at);
            assertTrue(c.section("wq[0]").data().isMapped());
            assertEquals(28 + 4 * wq0, c.layer("wq", 0).offset());
        }
    }

    private static long check(Llama2cCheckpoint.Section s, long at, int rows, int cols) {
        assertEquals(at, firstFloat(s), s.name());
        assertEquals(rows, s.rows(), s.name());
        assertEquals(cols, s.cols(), s.name());
        assertEquals(28 + 4 * at, s.offset(), s.name());
        return at + (long) rows * cols;
    }

    private static long firstFloat(Llama2cCheckpoint.Section s) { return (long) s.data().get(F32, 0); }

    @Test
    void sharedClassifierHasNoWcls() {
        Path file = FormatAssertions.write(dir, "tied.bin", checkpoint(8, 12, 1, 2, 2, 10, 4));
        try (Llama2cCheckpoint c = Llama2cCheckpoint.open(file)) {
            assertTrue(c.header().sharedClassifier());
            assertFalse(c.sections().stream().anyMatch(s -> s.name().equals("wcls")));
        }
    }

    @Test
    void truncatedFileNamesExpectedAndActualSize() {
        byte[] full = checkpoint(8, 12, 1, 2, 2, 10, 4);
        Path file = FormatAssertions.write(dir, "short.bin", Arrays.copyOf(full, full.length - 5));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Llama2cCheckpoint.open(file));
        FormatAssertions.assertMentions(e, file, full.length - 5, "truncated", "implies " + full.length + " bytes",
                "file has " + (full.length - 5));
    }

    @Test
    void trailingBytesAreRejected() {
        byte[] full = checkpoint(8, 12, 1, 2, 2, 10, 4);
        Path file = FormatAssertions.write(dir, "long.bin", Arrays.copyOf(full, full.length + 12));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Llama2cCheckpoint.open(file));
        FormatAssertions.assertMentions(e, file, full.length, "12 unexpected trailing bytes");
    }

    @Test
    void badHeaders() {
        assertHeaderError(new int[] {0, 12, 1, 2, 2, 10, 4}, 0, "dim = 0");
        assertHeaderError(new int[] {8, -12, 1, 2, 2, 10, 4}, 4, "hidden_dim = -12");
        assertHeaderError(new int[] {8, 12, 1, 3, 3, 10, 4}, 12, "not a multiple of n_heads 3");
        assertHeaderError(new int[] {8, 12, 1, 4, 3, 10, 4}, 16, "n_heads 4 is not a multiple of n_kv_heads 3");
        assertHeaderError(new int[] {8, 12, 1, 2, 2, 0, 4}, 20, "vocab_size = 0");
        assertHeaderError(new int[] {8, 12, 1, 2, 2, Integer.MIN_VALUE, 4}, 20, "vocab_size");
        assertHeaderError(new int[] {8, 12, 1 << 20, 2, 2, 10, 4}, 8, "n_layers");
        assertHeaderError(new int[] {0x616b3432, 1, 2, 3, 4, 5, 6}, 0, "v1/v2 export");
    }

    @Test
    void tooShortForHeader() {
        Path file = FormatAssertions.write(dir, "tiny.bin", new byte[10]);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Llama2cCheckpoint.open(file));
        FormatAssertions.assertMentions(e, file, 0, "truncated", "header");
    }

    private void assertHeaderError(int[] header, long offset, String fragment) {
        ByteBuffer b = ByteBuffer.allocate(28 + 4096).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : header) {
            b.putInt(v);
        }
        Path file = FormatAssertions.write(dir, "hdr.bin", b.array());
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Llama2cCheckpoint.open(file));
        FormatAssertions.assertMentions(e, file, offset, fragment);
    }
}
