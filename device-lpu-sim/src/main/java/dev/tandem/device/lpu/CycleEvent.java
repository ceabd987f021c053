package dev.tandem.device.lpu;

import dev.tandem.runtime.device.DeviceEvent;

import java.util.OptionalLong;

/** A point in a device's emulated time: the cycles of every program run before it, at a clock. */
record CycleEvent(long cycles, double clockHz) implements DeviceEvent {
    @Override
    public long nanosSince(DeviceEvent earlier) {
        return Math.round((cycles - ((CycleEvent) earlier).cycles) * 1e9 / clockHz);
    }

    /** The programs' own cycles: exact, unlike nanoseconds, which round. */
    @Override
    public OptionalLong cyclesSince(DeviceEvent earlier) {
        return OptionalLong.of(cycles - ((CycleEvent) earlier).cycles);
    }
}
