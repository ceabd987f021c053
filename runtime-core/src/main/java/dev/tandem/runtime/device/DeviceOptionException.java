package dev.tandem.runtime.device;

import dev.tandem.runtime.error.TandemException;

/** A device option that is malformed, unknown to the device, or has a value it cannot take (a usage error). */
public final class DeviceOptionException extends TandemException {
    public DeviceOptionException(String message) { super(message); }
}
