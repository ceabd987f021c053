package dev.tandem.runtime;

/** Entry point of the Java API: opens generation sessions on a loaded model. */
public final class Tandem {
    private Tandem() {}

    /** A session whose KV cache covers the model's whole context length. */
    public static Session open(Model model) {
        return new Session(model, model.config().contextLength());
    }

    /**
     * A session whose KV cache holds contextLength positions (at most the model's), which bounds
     * its memory for models with long contexts.
     */
    public static Session open(Model model, int contextLength) {
        if (contextLength < 1 || contextLength > model.config().contextLength()) {
            throw new IllegalArgumentException("context length must be in [1, " + model.config().contextLength()
                    + "] for " + model.source() + ", got " + contextLength);
        }
        return new Session(model, contextLength);
    }
}
