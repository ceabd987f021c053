package dev.tandem.runtime.device;

/** An FFN block resident on a device. Created by {@link Device#uploadFfn}; run by {@link Device#ffn}. */
public interface DeviceFfn extends AutoCloseable {
    @Override
    void close();
}
