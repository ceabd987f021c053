package dev.tandem.runtime.device;

import dev.tandem.kernels.WeightFormat;

import java.util.Set;
import java.util.stream.Collectors;

/**
 * A device cannot compute with weights of this format (the K-quants outside the CPU, say). Raised by
 * {@link Device#upload} before anything is placed; the CLI maps it like any unusable device.
 */
public class UnsupportedWeightFormatException extends DeviceUnavailableException {
    private final WeightFormat format;

    public UnsupportedWeightFormatException(String device, WeightFormat format, Set<WeightFormat> supported) {
        super("device '" + device + "' cannot compute with " + format + " weights (it supports "
                + supported.stream().map(Enum::name).collect(Collectors.joining(", ")) + "); run them on cpu");
        this.format = format;
    }

    /** The refused format. */
    public WeightFormat format() { return format; }
}
