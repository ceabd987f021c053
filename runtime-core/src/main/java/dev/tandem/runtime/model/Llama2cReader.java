package dev.tandem.runtime.model;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.format.Llama2cCheckpoint;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;

/** Maps a llama2.c legacy checkpoint to config and weights: run.c's constants, F32 views of the mapping. */
final class Llama2cReader {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** run.c hard-codes both. */
    private static final float RMS_EPS = 1e-5f;
    private static final float ROPE_THETA = 10000f;

    private Llama2cReader() {}

    static LoadedModel load(Llama2cCheckpoint ckpt) {
        try {
            return build(ckpt);
        } catch (RuntimeException e) {
            ckpt.close();
            throw e;
        }
    }

    private static LoadedModel build(Llama2cCheckpoint ckpt) {
        Llama2cCheckpoint.Header h = ckpt.header();
        LlamaConfig config = new LlamaConfig(h.dim(), h.hiddenDim(), h.nLayers(), h.nHeads(), h.nKvHeads(),
                h.vocabSize(), h.seqLen(), RMS_EPS, ROPE_THETA, null);
        int n = h.nLayers();
        float[][] attnNorm = new float[n][], ffnNorm = new float[n][];
        WeightMatrix[] wq = new WeightMatrix[n], wk = new WeightMatrix[n], wv = new WeightMatrix[n], wo = new WeightMatrix[n],
                w1 = new WeightMatrix[n], w2 = new WeightMatrix[n], w3 = new WeightMatrix[n];
        for (int l = 0; l < n; l++) {
            attnNorm[l] = floats(ckpt.layer("rms_att", l));
            wq[l] = matrix(ckpt, ckpt.layer("wq", l));
            wk[l] = matrix(ckpt, ckpt.layer("wk", l));
            wv[l] = matrix(ckpt, ckpt.layer("wv", l));
            wo[l] = matrix(ckpt, ckpt.layer("wo", l));
            ffnNorm[l] = floats(ckpt.layer("rms_ffn", l));
            w1[l] = matrix(ckpt, ckpt.layer("w1", l));
            w2[l] = matrix(ckpt, ckpt.layer("w2", l));
            w3[l] = matrix(ckpt, ckpt.layer("w3", l));
        }
        WeightMatrix embedding = matrix(ckpt, ckpt.section("token_embedding"));
        WeightMatrix output = h.sharedClassifier() ? embedding : matrix(ckpt, ckpt.section("wcls"));
        LlamaWeights weights = new LlamaWeights(embedding, attnNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3,
                floats(ckpt.section("rms_final")), output);
        List<TensorEntry> table = ckpt.sections().stream()
                .map(s -> new TensorEntry(s.name(), "F32", s.rows() == 1 ? new long[] {s.cols()} : new long[] {s.cols(), s.rows()},
                        s.offset(), s.byteSize()))
                .toList();
        return new LoadedModel(ckpt.path(), "llama2.c v0 float32", config, weights, null, table, null, 1f, ckpt::close);
    }

    private static WeightMatrix matrix(Llama2cCheckpoint ckpt, Llama2cCheckpoint.Section s) {
        return MatrixViews.view(ckpt.path(), s.name(), WeightFormat.F32, s.data(), s.rows(), s.cols());
    }

    private static float[] floats(Llama2cCheckpoint.Section s) {
        float[] out = new float[s.rows() * s.cols()];
        MemorySegment.copy(s.data(), F32, 0, out, 0, out.length);
        return out;
    }
}
