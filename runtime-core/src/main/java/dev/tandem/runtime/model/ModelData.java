package dev.tandem.runtime.model;

/**
 * A model's data in memory: where it came from, its configuration and its weights. The API's
 * {@code dev.tandem.runtime.Model} is one; packages below the API (the compiler's {@code ModelGraph})
 * take this instead, so that they do not depend on the package whose entry points depend on them.
 */
public interface ModelData {
    /** Where the model came from: a file path, or a description of the embedded model. */
    String source();

    LlamaConfig config();

    LlamaWeights weights();
}
