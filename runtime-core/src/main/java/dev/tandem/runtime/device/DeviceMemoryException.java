package dev.tandem.runtime.device;

import dev.tandem.runtime.error.TandemException;

/** A device allocation asked for more memory than the device has free. */
public class DeviceMemoryException extends TandemException {
    private final long requestedBytes;
    private final long availableBytes;

    public DeviceMemoryException(String device, long requestedBytes, long availableBytes) {
        super(device + ": cannot allocate " + requestedBytes + " bytes, " + availableBytes + " bytes available");
        this.requestedBytes = requestedBytes;
        this.availableBytes = availableBytes;
    }

    public long requestedBytes() { return requestedBytes; }

    public long availableBytes() { return availableBytes; }
}
