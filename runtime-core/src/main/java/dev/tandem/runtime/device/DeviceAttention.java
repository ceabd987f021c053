package dev.tandem.runtime.device;

/**
 * An attention block resident on a device: its weights and its KV cache of {@link #maxPositions()}
 * positions. Created by {@link Device#uploadAttention}; it runs on the device that made it.
 */
public interface DeviceAttention extends AutoCloseable {
    int maxPositions();

    /**
     * For rows b in [0, batch) at positions pos0 + b of x (batch, dim), a buffer of this block's
     * device: x[b] += Wo·attention(rope(Wq·n), rope(Wk·n), Wv·n) with n = rmsnorm(x[b]), writing the
     * new keys and values into the block's cache.
     */
    void run(DeviceBuffer x, int pos0, int batch);

    /** keys/values[0, count*kvDim) = the cached rows of positions [from, from + count); waits for queued work. */
    void readKv(int from, int count, float[] keys, float[] values);

    /** Cached rows of positions [from, from + count) = keys/values[0, count*kvDim): a KV cache moved from elsewhere. */
    void writeKv(int from, int count, float[] keys, float[] values);

    @Override
    void close();
}
