package dev.tandem.runtime.device;

/**
 * An attention block resident on a device: its weights and its KV cache of {@link #maxPositions()}
 * positions. Created by {@link Device#uploadAttention}; run by {@link Device#attention}.
 */
public interface DeviceAttention extends AutoCloseable {
    int maxPositions();

    /** keys/values[0, count*kvDim) = the cached rows of positions [from, from + count); waits for queued work. */
    void readKv(int from, int count, float[] keys, float[] values);

    /** Cached rows of positions [from, from + count) = keys/values[0, count*kvDim): a KV cache moved from elsewhere. */
    void writeKv(int from, int count, float[] keys, float[] values);

    @Override
    void close();
}
