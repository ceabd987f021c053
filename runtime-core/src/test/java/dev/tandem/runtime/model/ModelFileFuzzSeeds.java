package dev.tandem.runtime.model;

import dev.tandem.conformance.SharedData;
import dev.tandem.runtime.format.GgmlType;
import dev.tandem.runtime.format.GgufFile;
import dev.tandem.runtime.format.GgufValueType;
import dev.tandem.runtime.format.GgufWriter;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/**
 * Writes ModelFileFuzzTest's seeds, derived from ../shared/models but small, so each fuzz input is
 * cheap: tiny valid models (GGUF with the shared llama vocabulary, GGUF with a gpt2 vocabulary,
 * llama2.c) and the shared files cut after their headers. Run once when the formats change:
 * {@code ./mvnw -pl runtime-core -am test-compile} then
 * {@code java -cp "runtime-core/target/test-classes:runtime-core/target/classes:kernels/target/classes:..." dev.tandem.runtime.model.ModelFileFuzzSeeds DIR}.
 */
public final class ModelFileFuzzSeeds {
    /** Seeds named valid-* that must load (ModelFileFuzzTest checks it). */
    static final int VALID_SEEDS = 3;
    private static final int DIM = 32, HIDDEN = 32, HEADS = 2, KV_HEADS = 1;

    private ModelFileFuzzSeeds() {}

    public static void main(String[] args) throws IOException {
        Path dir = Files.createDirectories(Path.of(args[0]));
        Random random = new Random(10);
        try (GgufFile shared = GgufFile.open(SharedData.model("stories260K-q8_0.gguf"))) {
            String[] tokens = shared.requireArray("tokenizer.ggml.tokens", String[].class);
            GgufWriter w = llama(tokens.length, GgmlType.Q8_0, random);
            for (String key : new String[] {"tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.scores",
                    "tokenizer.ggml.token_type", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"}) {
                shared.get(key).ifPresent(v -> copy(shared, key, v, w));
            }
            w.write(dir.resolve("valid-gguf-llama-vocab-q8_0"));
            Files.write(dir.resolve("cut-stories260K-q8_0.gguf"),
                    Arrays.copyOf(Files.readAllBytes(shared.path()), (int) shared.dataOffset() + 64));
        }
        String[] bytes = new String[256 + 2];
        for (int b = 0; b < 256; b++) {
            bytes[b] = String.valueOf(ByteUnicode.charOf(b));
        }
        bytes[256] = "\u0120t";
        bytes[257] = "he";
        GgufWriter gpt2 = llama(bytes.length, GgmlType.F16, random).putString("tokenizer.ggml.model", "gpt2")
                .putString("tokenizer.ggml.pre", "llama-bpe")
                .putArray("tokenizer.ggml.tokens", GgufValueType.STRING, bytes)
                .putArray("tokenizer.ggml.merges", GgufValueType.STRING, new String[] {"\u0120 t", "h e"})
                .putUint32("tokenizer.ggml.bos_token_id", 257);
        gpt2.write(dir.resolve("valid-gguf-gpt2-vocab-f16"));
        Files.write(dir.resolve("valid-llama2c"), llama2c(new int[] {8, 16, 1, 2, 1, 16, 4}, random));
        Files.write(dir.resolve("cut-stories260K.bin"),
                Arrays.copyOf(Files.readAllBytes(SharedData.model("stories260K.bin")), 28 + 256));
    }

    private static void copy(GgufFile from, String key, Object value, GgufWriter to) {
        String t = from.typeOf(key).orElseThrow(); // e.g. UINT32 or ARRAY[STRING]
        if (t.startsWith("ARRAY[")) {
            to.putArray(key, GgufValueType.valueOf(t.substring(6, t.length() - 1)), value);
        } else {
            to.put(key, GgufValueType.valueOf(t), value);
        }
    }

    /** A one-block Llama with the given vocabulary size: metadata and tensors, no tokenizer keys yet. */
    private static GgufWriter llama(int vocab, GgmlType matrices, Random random) {
        GgufWriter w = new GgufWriter().putString("general.architecture", "llama")
                .putUint32("llama.embedding_length", DIM).putUint32("llama.feed_forward_length", HIDDEN)
                .putUint32("llama.block_count", 1).putUint32("llama.attention.head_count", HEADS)
                .putUint32("llama.attention.head_count_kv", KV_HEADS).putUint32("llama.context_length", 16)
                .putFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5f).putUint32("llama.vocab_size", vocab);
        int kv = DIM / HEADS * KV_HEADS;
        w.addTensor("token_embd.weight", matrices, new long[] {DIM, vocab}, gaussian(DIM * vocab, random));
        w.addTensor("blk.0.attn_norm.weight", GgmlType.F32, new long[] {DIM}, gaussian(DIM, random));
        w.addTensor("blk.0.attn_q.weight", matrices, new long[] {DIM, DIM}, gaussian(DIM * DIM, random));
        w.addTensor("blk.0.attn_k.weight", GgmlType.Q4_0, new long[] {DIM, kv}, gaussian(DIM * kv, random));
        w.addTensor("blk.0.attn_v.weight", GgmlType.F32, new long[] {DIM, kv}, gaussian(DIM * kv, random));
        w.addTensor("blk.0.attn_output.weight", matrices, new long[] {DIM, DIM}, gaussian(DIM * DIM, random));
        w.addTensor("blk.0.ffn_norm.weight", GgmlType.F16, new long[] {DIM}, gaussian(DIM, random));
        w.addTensor("blk.0.ffn_gate.weight", matrices, new long[] {DIM, HIDDEN}, gaussian(DIM * HIDDEN, random));
        w.addTensor("blk.0.ffn_down.weight", GgmlType.BF16, new long[] {HIDDEN, DIM}, gaussian(DIM * HIDDEN, random));
        w.addTensor("blk.0.ffn_up.weight", matrices, new long[] {DIM, HIDDEN}, gaussian(DIM * HIDDEN, random));
        w.addTensor("output_norm.weight", GgmlType.F32, new long[] {DIM}, gaussian(DIM, random));
        return w;
    }

    /** A llama2.c v0 checkpoint: the header, then exactly the floats it implies (shared classifier). */
    private static byte[] llama2c(int[] h, Random random) {
        int dim = h[0], hidden = h[1], layers = h[2], kv = dim / h[3] * h[4], vocab = h[5], seq = h[6], half = dim / h[3] / 2;
        long floats = (long) vocab * dim + layers * (2L * dim + 2L * dim * dim + 2L * kv * dim + 3L * hidden * dim)
                + dim + 2L * seq * half;
        ByteBuffer b = ByteBuffer.allocate((int) (28 + floats * 4)).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : h) {
            b.putInt(v);
        }
        while (b.hasRemaining()) {
            b.putFloat((float) random.nextGaussian());
        }
        return b.array();
    }

    private static float[] gaussian(int n, Random random) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) random.nextGaussian() * 0.1f;
        }
        return f;
    }

    /** GPT-2's byte-to-unicode table: printable bytes are themselves, the rest map above U+0100. */
    private static final class ByteUnicode {
        static char charOf(int b) {
            if (b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF) {
                return (char) b;
            }
            int n = 0;
            for (int c = 0; c < b; c++) {
                if (!(c >= '!' && c <= '~' || c >= 0xA1 && c <= 0xAC || c >= 0xAE && c <= 0xFF)) {
                    n++;
                }
            }
            return (char) (256 + n);
        }
    }
}
