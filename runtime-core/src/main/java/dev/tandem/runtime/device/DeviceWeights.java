package dev.tandem.runtime.device;

import dev.tandem.kernels.WeightFormat;

/** A weight matrix resident on a device in its storage format. Created by {@link Device#upload}. */
public interface DeviceWeights extends AutoCloseable {
    WeightFormat format();

    int rows();

    int cols();

    @Override
    void close();
}
