package dev.tandem.runtime.device;

import java.util.List;

/**
 * A kind of device, found through {@code ServiceLoader<DeviceBackend>}. Construction and
 * {@link #name()}, {@link #priority()} and {@link #probe()} must be cheap and must not fail: no
 * native library is loaded and no device is opened until {@link #open()}.
 */
public interface DeviceBackend {
    /** Short lowercase name used by {@code --device} and {@code -Dtandem.device} (cpu, opencl, cuda, lpu). */
    String name();

    /** Preference when several backends are usable; higher wins. The host CPU is 0. */
    int priority();

    /** Whether the backend can open devices here, and if not, why (missing driver, no platform...). */
    Availability probe();

    /**
     * Opens this backend's devices (at least one).
     * @throws DeviceUnavailableException when probing succeeded but opening failed
     */
    List<Device> open();

    /**
     * Opens an array of chips of a named preset (an emulator's chip model, e.g. lp30), or empty when
     * this backend has no such preset. A plan's executor asks every backend, so runtime-core needs
     * no backend's name.
     * @param chips how many chips the device spans, tensor-parallel
     */
    default java.util.Optional<Device> openPreset(String preset, int chips) {
        return java.util.Optional.empty();
    }
}
