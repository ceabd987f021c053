package dev.tandem.runtime.device;

/**
 * F32 memory on a device (activations, KV cache, norm weights), addressed in floats. Created by
 * {@link Device#allocate}; freed by {@link #close()} or when the device closes.
 */
public interface DeviceBuffer extends AutoCloseable {
    /** Capacity in floats. */
    long length();

    @Override
    void close();
}
