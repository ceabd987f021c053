package dev.tandem.runtime.model;

import dev.tandem.runtime.format.GgmlEncoder;
import dev.tandem.runtime.format.GgmlType;
import dev.tandem.runtime.format.GgufValueType;
import dev.tandem.runtime.format.GgufWriter;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/** Writes a small random Llama GGUF (dim 64, 2 layers, GQA) with hooks to break one thing at a time. */
final class TinyLlamaGguf {
    static final int DIM = 64, HIDDEN = 96, LAYERS = 2, HEADS = 4, KV_HEADS = 2, VOCAB = 40, CONTEXT = 128;

    GgmlType matrixType = GgmlType.Q8_0;
    String architecture = "llama";
    boolean untiedOutput;
    final Set<String> omitTensors = new HashSet<>();
    final Set<String> omitKeys = new HashSet<>();
    final Map<String, long[]> shapeOverrides = new HashMap<>();
    final Map<String, GgmlType> typeOverrides = new HashMap<>();
    float[] ropeFreqs;
    private final Random random = new Random();

    Path write(Path file) {
        GgufWriter w = new GgufWriter();
        key(w, "general.architecture", () -> w.putString("general.architecture", architecture));
        key(w, "llama.embedding_length", () -> w.putUint32("llama.embedding_length", DIM));
        key(w, "llama.feed_forward_length", () -> w.putUint32("llama.feed_forward_length", HIDDEN));
        key(w, "llama.block_count", () -> w.putUint32("llama.block_count", LAYERS));
        key(w, "llama.attention.head_count", () -> w.putUint32("llama.attention.head_count", HEADS));
        key(w, "llama.attention.head_count_kv", () -> w.putUint32("llama.attention.head_count_kv", KV_HEADS));
        key(w, "llama.context_length", () -> w.putUint32("llama.context_length", CONTEXT));
        key(w, "llama.attention.layer_norm_rms_epsilon", () -> w.putFloat32("llama.attention.layer_norm_rms_epsilon", 1e-6f));
        key(w, "llama.rope.freq_base", () -> w.putFloat32("llama.rope.freq_base", 500000f));
        String[] tokens = new String[VOCAB];
        for (int i = 0; i < VOCAB; i++) {
            tokens[i] = "<" + i + ">";
        }
        w.putArray("tokenizer.ggml.tokens", GgufValueType.STRING, tokens);
        int headDim = DIM / HEADS, kv = KV_HEADS * headDim;
        matrix(w, "token_embd.weight", VOCAB, DIM);
        for (int l = 0; l < LAYERS; l++) {
            String b = "blk." + l + ".";
            vector(w, b + "attn_norm.weight", DIM);
            matrix(w, b + "attn_q.weight", DIM, DIM);
            matrix(w, b + "attn_k.weight", kv, DIM);
            matrix(w, b + "attn_v.weight", kv, DIM);
            matrix(w, b + "attn_output.weight", DIM, DIM);
            vector(w, b + "ffn_norm.weight", DIM);
            matrix(w, b + "ffn_gate.weight", HIDDEN, DIM);
            matrix(w, b + "ffn_down.weight", DIM, HIDDEN);
            matrix(w, b + "ffn_up.weight", HIDDEN, DIM);
        }
        vector(w, "output_norm.weight", DIM);
        if (untiedOutput) {
            matrix(w, "output.weight", VOCAB, DIM);
        }
        if (ropeFreqs != null) {
            w.addTensor("rope_freqs.weight", GgmlType.F32, new long[] {ropeFreqs.length}, ropeFreqs);
        }
        w.write(file);
        return file;
    }

    private void key(GgufWriter w, String key, Runnable put) {
        if (!omitKeys.contains(key)) {
            put.run();
        }
    }

    private void matrix(GgufWriter w, String name, int rows, int cols) {
        tensor(w, name, typeOverrides.getOrDefault(name, matrixType), new long[] {cols, rows});
    }

    private void vector(GgufWriter w, String name, int n) {
        tensor(w, name, typeOverrides.getOrDefault(name, GgmlType.F32), new long[] {n});
    }

    private void tensor(GgufWriter w, String name, GgmlType type, long[] ne) {
        if (omitTensors.contains(name)) {
            return;
        }
        ne = shapeOverrides.getOrDefault(name, ne);
        long n = 1;
        for (long d : ne) {
            n *= d;
        }
        if (!GgmlEncoder.canEncode(type)) {
            w.addRawTensor(name, type, ne, new byte[(int) type.bytesFor(ne[0], n / ne[0])]);
            return;
        }
        float[] data = new float[(int) n];
        for (int i = 0; i < n; i++) {
            data[i] = (float) random.nextGaussian();
        }
        w.addTensor(name, type, ne, data);
    }
}
