package dev.tandem.runtime.device;

import java.util.OptionalLong;

/** A point in a device's queue, timed on the device's own clock. Created by {@link Device#record()}. */
public interface DeviceEvent {
    /** Nanoseconds from earlier to this event, waiting for both to complete. */
    long nanosSince(DeviceEvent earlier);

    /**
     * Clock cycles from earlier to this event, where the device counts them exactly (an emulator
     * whose time is its program's cycles); empty where time is a wall clock.
     */
    default OptionalLong cyclesSince(DeviceEvent earlier) {
        return OptionalLong.empty();
    }
}
