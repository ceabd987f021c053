package dev.tandem.runtime.device;

import dev.tandem.runtime.error.TandemException;

/**
 * No registered backend has the requested name: the name must change (a usage error), unlike
 * {@link DeviceUnavailableException}, where the backend exists but cannot be used here.
 */
public class UnknownDeviceException extends TandemException {
    public UnknownDeviceException(String message) { super(message); }
}
