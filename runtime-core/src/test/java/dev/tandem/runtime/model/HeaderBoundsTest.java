package dev.tandem.runtime.model;

import dev.tandem.runtime.error.ContextLengthException;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.error.ModelFormatException;
import dev.tandem.runtime.Session;
import dev.tandem.runtime.Tandem;
import dev.tandem.runtime.format.GgmlType;
import dev.tandem.runtime.format.GgufWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Header fields that size things are bounded by the file's own tensors before anything is allocated:
 * a lying value is a ModelFormatException naming the key and the value, never an OutOfMemoryError or
 * an IllegalArgumentException from a constructor.
 */
class HeaderBoundsTest {
    @TempDir
    Path dir;

    /** A small valid F32 Llama GGUF whose uint32 keys can be replaced one at a time. */
    private Path gguf(Map<String, Long> overrides, int dim, int heads, int context) {
        Map<String, Long> keys = new java.util.LinkedHashMap<>();
        int hidden = 8, vocab = 6;
        keys.put("llama.embedding_length", (long) dim);
        keys.put("llama.feed_forward_length", (long) hidden);
        keys.put("llama.block_count", 1L);
        keys.put("llama.attention.head_count", (long) heads);
        keys.put("llama.attention.head_count_kv", (long) heads);
        keys.put("llama.context_length", (long) context);
        keys.put("llama.vocab_size", (long) vocab);
        keys.putAll(overrides);
        GgufWriter w = new GgufWriter().putString("general.architecture", "llama");
        keys.forEach((k, v) -> {
            if (v > 0xFFFF_FFFFL) {
                w.putUint64(k, v);
            } else {
                w.putUint32(k, v);
            }
        });
        w.addTensor("token_embd.weight", GgmlType.F32, new long[] {dim, vocab}, new float[dim * vocab]);
        w.addTensor("blk.0.attn_norm.weight", GgmlType.F32, new long[] {dim}, ones(dim));
        for (String m : new String[] {"attn_q", "attn_k", "attn_v", "attn_output"}) {
            w.addTensor("blk.0." + m + ".weight", GgmlType.F32, new long[] {dim, dim}, new float[dim * dim]);
        }
        w.addTensor("blk.0.ffn_norm.weight", GgmlType.F32, new long[] {dim}, ones(dim));
        w.addTensor("blk.0.ffn_gate.weight", GgmlType.F32, new long[] {dim, hidden}, new float[dim * hidden]);
        w.addTensor("blk.0.ffn_down.weight", GgmlType.F32, new long[] {hidden, dim}, new float[dim * hidden]);
        w.addTensor("blk.0.ffn_up.weight", GgmlType.F32, new long[] {dim, hidden}, new float[dim * hidden]);
        w.addTensor("output_norm.weight", GgmlType.F32, new long[] {dim}, ones(dim));
        Path file = dir.resolve("bounds-" + overrides.hashCode() + "-" + context + ".gguf");
        w.write(file);
        return file;
    }

    private static float[] ones(int n) {
        float[] f = new float[n];
        java.util.Arrays.fill(f, 1f);
        return f;
    }

    private void assertRefused(String key, long value, String... fragments) {
        Path file = gguf(Map.of(key, value), 16, 2, 64);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Model.load(file).close(), key + " = " + value);
        String m = e.getMessage();
        assertTrue(m.contains("'" + key + "'") && m.contains(Long.toString(value)), "names the key and the value: " + m);
        for (String f : fragments) {
            assertTrue(m.contains(f), m);
        }
        assertEquals(1, m.lines().count(), m);
    }

    @Test
    void theValidFileLoads() {
        try (Model m = Model.load(gguf(Map.of(), 16, 2, 64)); Session s = Tandem.open(m)) {
            assertEquals(64, m.config().contextLength());
            assertEquals(1, s.generate(new int[] {1}, dev.tandem.runtime.generate.Sampling.greedy().maxTokens(1), t -> { })
                    .generatedIds().length);
        }
    }

    @Test
    void aBlockCountTheTensorsCannotHoldIsRefusedBeforeAnythingIsAllocated() {
        assertRefused("llama.block_count", 1_000_000_000L, "tensors");
        assertRefused("llama.block_count", 2L, "each block needs 9");
        assertRefused("llama.block_count", 0xFFFF_FFFFL);
    }

    @Test
    void widthsMustMatchTheTensorsTheySize() {
        assertRefused("llama.embedding_length", 1L << 30, "token_embd.weight");
        assertRefused("llama.embedding_length", 8L, "16");
        assertRefused("llama.feed_forward_length", 2_000_000_000L, "ffn_gate");
        assertRefused("llama.vocab_size", Integer.MAX_VALUE, "token_embd.weight");
        assertRefused("llama.vocab_size", 1L << 40);
    }

    @Test
    void headCountsMustFitTheWidth() {
        assertRefused("llama.attention.head_count", 1L << 30);
        assertRefused("llama.attention.head_count", 32L, "embedding dimensions");
        assertRefused("llama.attention.head_count_kv", 4L, "query heads");
    }

    @Test
    void anAbsurdContextLengthIsRefusedAtLoad() {
        assertRefused("llama.context_length", 2_000_000_000L, Integer.toString(LlamaConfig.MAX_CONTEXT_LENGTH));
    }

    @Test
    void openWithAContextOutsideTheModelsIsATypedErrorNamingTheLimit() {
        try (Model m = Model.load(gguf(Map.of(), 16, 2, 64))) {
            for (int bad : new int[] {0, -7, 65, Integer.MAX_VALUE}) {
                ContextLengthException e = assertThrows(ContextLengthException.class, () -> Tandem.open(m, bad).close());
                assertTrue(e.getMessage().contains(Integer.toString(bad)) && e.getMessage().contains("[1, 64]"), e.getMessage());
            }
        }
    }

    @Test
    void aContextTheHostCannotHoldIsATypedErrorNamingTheLimit() {
        // 2^24 positions x 128 floats per position: more than one Java array per layer holds.
        try (Model m = Model.load(gguf(Map.of("llama.attention.head_count", 1L, "llama.attention.head_count_kv", 1L),
                128, 1, LlamaConfig.MAX_CONTEXT_LENGTH))) {
            ContextLengthException e = assertThrows(ContextLengthException.class, () -> Tandem.open(m).close());
            assertTrue(e.getMessage().contains("limit here is") && e.getMessage().contains(Integer.toString(LlamaConfig.MAX_CONTEXT_LENGTH)),
                    e.getMessage());
            try (Session small = Tandem.open(m, 1024)) {
                assertEquals("cpu (reference)", small.deviceName());
            }
        }
    }

    /** llama2.c: each header int that sizes a section is bounded and named, and the file size must match. */
    @Test
    void llama2cHeaderIntsAreBoundedAndNamed() throws IOException {
        String[] names = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
        int[] valid = {8, 12, 1, 2, 2, 16, 4};
        Map<Integer, Integer> absurd = new HashMap<>(Map.of(0, 1 << 30, 1, Integer.MAX_VALUE, 2, 1 << 20, 3, -1,
                4, 0, 5, Integer.MIN_VALUE, 6, 1 << 30));
        for (Map.Entry<Integer, Integer> a : absurd.entrySet()) {
            int[] h = valid.clone();
            h[a.getKey()] = a.getValue();
            ByteBuffer b = ByteBuffer.allocate(28 + 4096).order(ByteOrder.LITTLE_ENDIAN);
            for (int v : h) {
                b.putInt(v);
            }
            Path file = Files.write(dir.resolve("h" + a.getKey() + ".bin"), b.array());
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> Model.load(file).close());
            assertTrue(e.getMessage().contains(names[a.getKey()] + " = " + a.getValue()), e.getMessage());
        }
        // Plausible ints that still describe far more bytes than the file has.
        ByteBuffer b = ByteBuffer.allocate(28 + 4096).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : new int[] {4096, 16384, 1000, 32, 32, 1 << 20, 1 << 20}) {
            b.putInt(v);
        }
        Path file = Files.write(dir.resolve("big.bin"), b.array());
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Model.load(file).close());
        assertTrue(e.getMessage().contains("implies") && e.getMessage().contains("4124"), e.getMessage());
    }
}
