package dev.tandem.runtime.device;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;

/**
 * A forward pass's claim on a device for as long as it is open. A device that allows concurrent
 * sessions can be claimed any number of times; any other device once, and a second claim is a
 * {@link DeviceBusyException}, so two sessions never interleave their work on a device whose state
 * (an emulator's SRAM and statistics, an OpenCL queue's kernel arguments) is not made for it.
 */
public final class DeviceClaim implements AutoCloseable {
    /** Devices claimed exclusively; guarded by itself. */
    private static final Set<Device> EXCLUSIVE = Collections.newSetFromMap(new IdentityHashMap<>());

    private final Device exclusive;
    private boolean released;

    private DeviceClaim(Device exclusive) {
        this.exclusive = exclusive;
    }

    /** @throws DeviceBusyException when the device runs one session at a time and another holds it */
    public static DeviceClaim take(Device device) {
        if (device.allowsConcurrentSessions()) {
            return new DeviceClaim(null);
        }
        synchronized (EXCLUSIVE) {
            if (!EXCLUSIVE.add(device)) {
                throw new DeviceBusyException(device.spec().name() + " is in use by another open session and runs one"
                        + " session at a time; close that session or open another device");
            }
        }
        return new DeviceClaim(device);
    }

    /** Releases the device for the next claim; releasing twice is harmless. */
    @Override
    public void close() {
        if (exclusive != null && !released) {
            released = true;
            synchronized (EXCLUSIVE) {
                EXCLUSIVE.remove(exclusive);
            }
        }
    }
}
