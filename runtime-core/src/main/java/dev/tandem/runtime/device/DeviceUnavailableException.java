package dev.tandem.runtime.device;

import dev.tandem.runtime.error.TandemException;

/** A requested device or backend cannot be used here; the message says why. */
public class DeviceUnavailableException extends TandemException {
    public DeviceUnavailableException(String message) { super(message); }

    public DeviceUnavailableException(String message, Throwable cause) { super(message, cause); }
}
