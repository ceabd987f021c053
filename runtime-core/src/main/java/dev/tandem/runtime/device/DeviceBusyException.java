package dev.tandem.runtime.device;

/**
 * A device that runs one session at a time ({@link Device#allowsConcurrentSessions()} false) is
 * already claimed by another open session or plan; raised when the second one opens, before it
 * places anything.
 */
public class DeviceBusyException extends DeviceUnavailableException {
    public DeviceBusyException(String message) { super(message); }
}
