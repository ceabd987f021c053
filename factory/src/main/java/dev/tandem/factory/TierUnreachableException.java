package dev.tandem.factory;

import dev.tandem.runtime.device.DeviceUnavailableException;

/** A tier asks for more tokens/s per user than any configuration reaches (the CLI exits 4: does not fit). */
public final class TierUnreachableException extends DeviceUnavailableException {
    public TierUnreachableException(String message) { super(message); }
}
