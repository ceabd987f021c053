package dev.tandem.runtime.exec;

/** A forward pass holding one sequence's KV cache: the reference, or the same model on a device. */
public interface Forward extends AutoCloseable {
    /** Runs tokens at positions startPos.. and returns the logits after the last one (reused array). */
    float[] prefill(int[] tokens, int startPos);

    /** Runs one token at pos and returns its logits (reused array). */
    float[] forward(int token, int pos);

    /** Positions the KV cache holds. */
    int maxPositions();

    @Override
    void close();
}
