package dev.tandem.runtime.device;

/** A point in a device's queue, timed on the device's own clock. Created by {@link Device#record()}. */
public interface DeviceEvent {
    /** Nanoseconds from earlier to this event, waiting for both to complete. */
    long nanosSince(DeviceEvent earlier);
}
