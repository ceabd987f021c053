package dev.tandem.runtime.device;

/** An FFN block resident on a device. Created by {@link Device#uploadFfn}; it runs on the device that made it. */
public interface DeviceFfn extends AutoCloseable {
    /**
     * For rows b in [0, batch) of x (batch, dim), a buffer of this block's device:
     * x[b] += W2·(silu(W1·n) ⊙ W3·n) with n = rmsnorm(x[b]).
     */
    void run(DeviceBuffer x, int batch);

    @Override
    void close();
}
