package dev.tandem.runtime.device;

import java.util.List;

/**
 * A test-only backend whose probe succeeds and whose open throws, as a driver that crashes while
 * creating its context would: the CLI must report it as an unavailable device (exit 4), not as a bug.
 */
public final class BrokenTestBackend implements DeviceBackend {
    @Override public String name() { return "broken-test"; }

    @Override public int priority() { return -20; } // never chosen automatically

    /** How many times any instance was probed: opening another backend must not probe this one. */
    static final java.util.concurrent.atomic.AtomicInteger PROBES = new java.util.concurrent.atomic.AtomicInteger();

    /** When set, the probe reports this driver missing instead (DevicesTest; tests run one class at a time). */
    static volatile boolean missing;

    @Override public Availability probe() {
        PROBES.incrementAndGet();
        return missing ? Availability.no("test driver not installed") : Availability.yes("test backend whose open fails");
    }

    @Override public List<Device> open() {
        throw new IllegalStateException("driver crashed\ncreating its context");
    }
}
