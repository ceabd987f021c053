package dev.tandem.runtime.model;

import dev.tandem.runtime.format.GgmlType;
import dev.tandem.runtime.format.GgufWriter;

import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Writes a Llama GGUF of any shape with seeded random weights, for benchmarks and tests at sizes no
 * shipped model has (stories110M-, 1B-, 8B-shaped). Rows stream to disk, so memory stays small.
 * Norms are F32; every matrix is in the requested type; the output layer is tied, as in stories110M.
 */
public final class SyntheticCheckpoint {
    private SyntheticCheckpoint() {}

    /** stories110M's shape: dim 768, hidden 2048, 12 layers, 12 heads, vocab 32000, context 1024. */
    public static final LlamaConfig STORIES_110M = new LlamaConfig(768, 2048, 12, 12, 12, 32000, 1024, 1e-5f, 10000f, null);

    public static void write(Path file, LlamaConfig c, GgmlType matrixType, long seed) {
        GgufWriter w = new GgufWriter()
                .putString("general.architecture", "llama")
                .putString("general.name", "synthetic " + c.dim() + "x" + c.nLayers() + " " + matrixType)
                .putUint32("llama.embedding_length", c.dim())
                .putUint32("llama.feed_forward_length", c.hiddenDim())
                .putUint32("llama.block_count", c.nLayers())
                .putUint32("llama.attention.head_count", c.nHeads())
                .putUint32("llama.attention.head_count_kv", c.nKvHeads())
                .putUint32("llama.context_length", c.contextLength())
                .putFloat32("llama.attention.layer_norm_rms_epsilon", c.rmsEps())
                .putFloat32("llama.rope.freq_base", c.ropeTheta());
        int tensor = 0;
        matrix(w, "token_embd.weight", matrixType, c.vocabSize(), c.dim(), 1f, seed, tensor++);
        for (int l = 0; l < c.nLayers(); l++) {
            String p = "blk." + l + ".";
            norm(w, p + "attn_norm.weight", c.dim());
            matrix(w, p + "attn_q.weight", matrixType, c.nHeads() * c.headDim(), c.dim(), 0, seed, tensor++);
            matrix(w, p + "attn_k.weight", matrixType, c.kvDim(), c.dim(), 0, seed, tensor++);
            matrix(w, p + "attn_v.weight", matrixType, c.kvDim(), c.dim(), 0, seed, tensor++);
            matrix(w, p + "attn_output.weight", matrixType, c.dim(), c.nHeads() * c.headDim(), 0, seed, tensor++);
            norm(w, p + "ffn_norm.weight", c.dim());
            matrix(w, p + "ffn_gate.weight", matrixType, c.hiddenDim(), c.dim(), 0, seed, tensor++);
            matrix(w, p + "ffn_down.weight", matrixType, c.dim(), c.hiddenDim(), 0, seed, tensor++);
            matrix(w, p + "ffn_up.weight", matrixType, c.hiddenDim(), c.dim(), 0, seed, tensor++);
        }
        norm(w, "output_norm.weight", c.dim());
        w.write(file);
    }

    /** scale 0 means 1/sqrt(cols)·sqrt(3): unit output variance for unit inputs. */
    private static void matrix(GgufWriter w, String name, GgmlType type, int rows, int cols, float scale, long seed, int index) {
        float s = scale != 0 ? scale : (float) Math.sqrt(3.0 / cols);
        w.addTensor(name, type, new long[] {cols, rows}, (row, dst) -> {
            SplittableRandom r = new SplittableRandom(seed * 1_000_003L + index * 65_537L + row);
            for (int j = 0; j < dst.length; j++) {
                dst[j] = (float) ((2 * r.nextDouble() - 1) * s);
            }
        });
    }

    private static void norm(GgufWriter w, String name, int dim) {
        float[] ones = new float[dim];
        java.util.Arrays.fill(ones, 1f);
        w.addTensor(name, GgmlType.F32, new long[] {dim}, ones);
    }
}
