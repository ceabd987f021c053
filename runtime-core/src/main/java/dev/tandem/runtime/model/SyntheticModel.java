package dev.tandem.runtime.model;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.tokenizer.GgufTokenType;
import dev.tandem.runtime.tokenizer.SentencePieceTokenizer;
import dev.tandem.runtime.tokenizer.Tokenizer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * A synthetic model: a Llama of a fixed small shape whose weights come from a fixed seed, the same
 * on every machine with no file. Its vocabulary is byte-level (see {@link #VOCAB}), so any text can
 * be encoded, and its text is noise. Tests use it for its shape; the default model people run is
 * {@link EmbeddedModel}, which is trained.
 *
 * Shape: dim 256, hidden 688, 4 layers, 8 heads, 2 KV heads (GQA), vocab 259, context 512, F32,
 * untied output layer.
 */
public final class SyntheticModel {
    public static final long SEED = 0x7A4DE11L;
    /** &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;, then the 256 byte pieces &lt;0x00&gt;..&lt;0xFF&gt;. */
    public static final int VOCAB = 3 + 256;
    public static final LlamaConfig CONFIG =
            new LlamaConfig(256, 688, 4, 8, 2, VOCAB, 512, 1e-5f, 10000f, null);

    private SyntheticModel() {}

    /** SentencePiece-style vocabulary of only byte pieces: every text encodes by byte fallback. */
    public static Tokenizer tokenizer() {
        String[] tokens = new String[VOCAB];
        float[] scores = new float[VOCAB];
        int[] types = new int[VOCAB];
        tokens[0] = "<unk>";
        tokens[1] = "<s>";
        tokens[2] = "</s>";
        types[0] = GgufTokenType.UNKNOWN;
        types[1] = GgufTokenType.CONTROL;
        types[2] = GgufTokenType.CONTROL;
        for (int b = 0; b < 256; b++) {
            tokens[3 + b] = String.format("<0x%02X>", b);
            types[3 + b] = GgufTokenType.BYTE;
        }
        return SentencePieceTokenizer.fromGguf(Path.of("<embedded synthetic model>"), tokens, scores, types, 1, 2);
    }

    /** Weights in off-heap memory owned by arena. */
    public static LlamaWeights weights(Arena arena) {
        LlamaConfig c = CONFIG;
        SplittableRandom random = new SplittableRandom(SEED);
        int dim = c.dim(), kv = c.kvDim(), hidden = c.hiddenDim(), layers = c.nLayers();
        WeightMatrix embedding = matrix(arena, random, c.vocabSize(), dim, 1f);
        float[][] attnNorm = new float[layers][];
        float[][] ffnNorm = new float[layers][];
        WeightMatrix[] wq = new WeightMatrix[layers], wk = new WeightMatrix[layers], wv = new WeightMatrix[layers],
                wo = new WeightMatrix[layers], w1 = new WeightMatrix[layers], w2 = new WeightMatrix[layers],
                w3 = new WeightMatrix[layers];
        for (int l = 0; l < layers; l++) {
            attnNorm[l] = norm(random, dim);
            ffnNorm[l] = norm(random, dim);
            wq[l] = matrix(arena, random, dim, dim, fanIn(dim));
            wk[l] = matrix(arena, random, kv, dim, fanIn(dim));
            wv[l] = matrix(arena, random, kv, dim, fanIn(dim));
            wo[l] = matrix(arena, random, dim, dim, fanIn(dim));
            w1[l] = matrix(arena, random, hidden, dim, fanIn(dim));
            w2[l] = matrix(arena, random, dim, hidden, fanIn(hidden));
            w3[l] = matrix(arena, random, hidden, dim, fanIn(dim));
        }
        float[] finalNorm = norm(random, dim);
        return new LlamaWeights(embedding, attnNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3, finalNorm, output(arena, random));
    }

    /**
     * A separate output layer: tied weights make a random model predict its own input (a fixed point,
     * "eeee..."). Only printable ASCII and newline get non-zero rows, so the demo prints text.
     */
    private static WeightMatrix output(Arena arena, SplittableRandom random) {
        int dim = CONFIG.dim();
        MemorySegment data = arena.allocate((long) VOCAB * dim * Float.BYTES, 64);
        float scale = 4 * fanIn(dim);
        for (int row = 0; row < VOCAB; row++) {
            int b = row - 3;
            boolean printable = b == '\n' || b >= 0x20 && b < 0x7f;
            for (int col = 0; col < dim; col++) {
                float v = (float) ((2 * random.nextDouble() - 1) * scale);
                data.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, (long) row * dim + col, printable ? v : 0f);
            }
        }
        return WeightMatrix.of(WeightFormat.F32, data, VOCAB, dim);
    }

    /** Uniform scale that gives unit output variance for unit-variance inputs. */
    private static float fanIn(int n) {
        return (float) Math.sqrt(3.0 / n);
    }

    private static float[] norm(SplittableRandom random, int n) {
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            w[i] = (float) (0.8 + 0.4 * random.nextDouble());
        }
        return w;
    }

    private static WeightMatrix matrix(Arena arena, SplittableRandom random, int rows, int cols, float scale) {
        MemorySegment data = arena.allocate((long) rows * cols * Float.BYTES, 64);
        for (long i = 0, n = (long) rows * cols; i < n; i++) {
            data.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) ((2 * random.nextDouble() - 1) * scale));
        }
        return WeightMatrix.of(WeightFormat.F32, data, rows, cols);
    }
}
