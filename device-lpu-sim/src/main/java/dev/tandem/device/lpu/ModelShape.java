package dev.tandem.device.lpu;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.LlamaWeights;

import java.util.function.BiFunction;

/**
 * What the lowering needs to know about a model: its hyper-parameters, the storage format of each
 * weight matrix, whether the output layer is the embedding, and for mixture-of-experts models how
 * many experts there are and how many each token uses. No weight data: a timing-only lowering of a
 * 70B model needs only this.
 *
 * @param experts       FFN experts per layer (1 for a dense model); every expert's weights are resident
 * @param activeExperts experts each token runs through (the expected load of a top-k router)
 */
public record ModelShape(LlamaConfig config, BiFunction<Tensor, Integer, WeightFormat> formats, boolean tiedOutput,
                         int experts, int activeExperts) {

    /** The weight matrices of a Llama layer (layer index ignored for EMBEDDING and OUTPUT). */
    public enum Tensor { EMBEDDING, WQ, WK, WV, WO, W1, W2, W3, ROUTER, OUTPUT }

    public ModelShape {
        if (experts < 1 || activeExperts < 1 || activeExperts > experts) {
            throw new IllegalArgumentException("need 1 <= activeExperts <= experts, got " + activeExperts + " of " + experts);
        }
    }

    public WeightFormat format(Tensor t, int layer) { return formats.apply(t, layer); }

    /** A dense model with every matrix in one format and an untied output layer. */
    public static ModelShape uniform(LlamaConfig config, WeightFormat format) {
        return new ModelShape(config, (t, l) -> format, false, 1, 1);
    }

    /** A mixture-of-experts model: every matrix in one format, experts FFNs per layer, activeExperts used per token. */
    public static ModelShape mixtureOfExperts(LlamaConfig config, WeightFormat format, int experts, int activeExperts) {
        return new ModelShape(config, (t, l) -> format, false, experts, activeExperts);
    }

    /** The shape of loaded weights, format by format. */
    public static ModelShape of(LlamaConfig config, LlamaWeights w) {
        return new ModelShape(config, (t, l) -> matrix(w, t, l).format(), w.output() == w.tokenEmbedding(), 1, 1);
    }

    static WeightMatrix matrix(LlamaWeights w, Tensor t, int layer) {
        return switch (t) {
            case EMBEDDING -> w.tokenEmbedding();
            case OUTPUT -> w.output();
            case WQ -> w.wq()[layer];
            case WK -> w.wk()[layer];
            case WV -> w.wv()[layer];
            case WO -> w.wo()[layer];
            case W1 -> w.w1()[layer];
            case W2 -> w.w2()[layer];
            case W3 -> w.w3()[layer];
            case ROUTER -> throw new IllegalArgumentException("a dense model has no router");
        };
    }

    /** (rows, cols) of a tensor. */
    public int rows(Tensor t) {
        LlamaConfig c = config;
        return switch (t) {
            case EMBEDDING, OUTPUT -> c.vocabSize();
            case WQ -> c.nHeads() * c.headDim();
            case WK, WV -> c.kvDim();
            case WO, W2 -> c.dim();
            case W1, W3 -> c.hiddenDim();
            case ROUTER -> experts;
        };
    }

    public int cols(Tensor t) {
        LlamaConfig c = config;
        return switch (t) {
            case WO -> c.nHeads() * c.headDim();
            case W2 -> c.hiddenDim();
            default -> c.dim();
        };
    }

    /** Bytes of all weight matrices (each expert counted, a tied output once). */
    public long weightBytes() {
        long total = bytes(Tensor.EMBEDDING, 0) + (tiedOutput ? 0 : bytes(Tensor.OUTPUT, 0));
        for (int l = 0; l < config.nLayers(); l++) {
            total += bytes(Tensor.WQ, l) + bytes(Tensor.WK, l) + bytes(Tensor.WV, l) + bytes(Tensor.WO, l);
            total += (long) experts * (bytes(Tensor.W1, l) + bytes(Tensor.W2, l) + bytes(Tensor.W3, l));
            if (experts > 1) {
                total += bytes(Tensor.ROUTER, l);
            }
        }
        return total;
    }

    long bytes(Tensor t, int layer) {
        return format(t, layer).bytesFor((long) rows(t) * cols(t));
    }
}
