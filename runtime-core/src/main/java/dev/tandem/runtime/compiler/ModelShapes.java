package dev.tandem.runtime.compiler;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.error.TandemException;
import dev.tandem.runtime.model.LlamaConfig;

import java.util.LinkedHashMap;
import java.util.Map;

/** Built-in model shapes with their published hyper-parameters, so plans need no weights. */
public final class ModelShapes {
    private ModelShapes() {}

    private static final Map<String, ModelGraph> SHAPES = new LinkedHashMap<>();

    private static void add(String name, int dim, int hidden, int layers, int heads, int kvHeads, int vocab, int context,
                            float theta, int experts, int active) {
        add(name, dim, hidden, layers, heads, kvHeads, vocab, context, theta, experts, active, false);
    }

    private static void add(String name, int dim, int hidden, int layers, int heads, int kvHeads, int vocab, int context,
                            float theta, int experts, int active, boolean tiedOutput) {
        LlamaConfig c = new LlamaConfig(dim, hidden, layers, heads, kvHeads, vocab, context, 1e-5f, theta, null);
        SHAPES.put(name, new ModelGraph(name, c, WeightFormat.F16, experts, active, tiedOutput));
    }

    static {
        add("llama-2-7b", 4096, 11008, 32, 32, 32, 32000, 4096, 10000f, 1, 1);
        add("llama-2-70b", 8192, 28672, 80, 64, 8, 32000, 4096, 10000f, 1, 1);
        // Llama 3.2 1B ties its output layer to the embedding (rope scaling left out: it changes no byte or FLOP).
        add("llama-3.2-1b", 2048, 8192, 16, 32, 8, 128256, 131072, 500000f, 1, 1, true);
        add("llama-3-8b", 4096, 14336, 32, 32, 8, 128256, 8192, 500000f, 1, 1);
        add("llama-3-70b", 8192, 28672, 80, 64, 8, 128256, 8192, 500000f, 1, 1);
        add("llama-3.1-405b", 16384, 53248, 126, 128, 8, 128256, 131072, 500000f, 1, 1);
        add("mixtral-8x7b", 4096, 14336, 32, 32, 8, 32000, 32768, 1e6f, 8, 2);
    }

    /** A shape by name, in f16. */
    public static ModelGraph shape(String name) {
        ModelGraph g = SHAPES.get(name);
        if (g == null) {
            throw new UnknownShapeException(name);
        }
        return g;
    }

    public static Iterable<String> names() { return SHAPES.keySet(); }

    /** A --shape name that is not built in (a usage error). */
    public static final class UnknownShapeException extends TandemException {
        UnknownShapeException(String name) {
            super("unknown model shape '" + name + "'; shapes: " + String.join(", ", SHAPES.keySet()));
        }
    }
}
