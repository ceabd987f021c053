package dev.tandem.runtime.device;

import java.util.List;
import java.util.Optional;

/**
 * A kind of device, found through {@code ServiceLoader<DeviceBackend>}. Construction and
 * {@link #name()}, {@link #priority()}, {@link #probe()} and {@link #presets()} must be cheap and
 * must not fail: no native library is loaded and no device is opened until {@link #open}.
 *
 * <p>Options travel with the device's name ({@code --device lpu:preset=lp30,chips=4}) and reach the
 * backend explicitly as {@link DeviceOptions}; a backend refuses keys it does not know with a
 * {@link DeviceOptionException} naming the key, so no option is silently ignored.
 */
public interface DeviceBackend {
    /** Short lowercase name used by {@code --device} and {@code -Dtandem.device} (cpu, opencl, cuda, lpu). */
    String name();

    /** Preference when several backends are usable; higher wins. The host CPU is 0. */
    int priority();

    /** Whether the backend can open devices here, and if not, why (missing driver, no platform...). */
    Availability probe();

    /**
     * Opens this backend's devices (at least one) with no options.
     * @throws DeviceUnavailableException when probing succeeded but opening failed
     */
    List<Device> open();

    /**
     * Opens this backend's devices with options. A backend that takes none keeps this default, which
     * refuses every key.
     * @throws DeviceOptionException for a key the backend does not know or a value it cannot take
     */
    default List<Device> open(DeviceOptions options) {
        options.requireKnown(name(), List.of());
        return open();
    }

    /**
     * A chip model this backend emulates in any number (a pool names it like a catalog device, e.g.
     * lp30), with the figures a plan is priced on: the backend is their one source.
     *
     * @param name     the pool name
     * @param spec     one chip's spec
     * @param nodeSize chips joined all-to-all (a plan's tensor-parallel limit)
     */
    record Preset(String name, DeviceSpec spec, int nodeSize) {}

    /** The presets this backend emulates, with their default figures; none by default. */
    default List<Preset> presets() { return List.of(); }

    /**
     * A preset with options applied (e.g. {@code clockHz=1.1e9}), or empty when this backend has no
     * preset of that name.
     * @throws DeviceOptionException for a key the preset does not take
     */
    default Optional<Preset> preset(String name, DeviceOptions options) {
        Optional<Preset> p = presets().stream().filter(x -> x.name().equals(name)).findFirst();
        p.ifPresent(x -> options.requireKnown(name, List.of()));
        return p;
    }

    /**
     * Opens an array of chips of a named preset with options, or empty when this backend has no such
     * preset. A plan's executor asks every backend, so runtime-core needs no backend's name.
     * @param chips how many chips the device spans, tensor-parallel
     */
    default Optional<Device> openPreset(String preset, int chips, DeviceOptions options) {
        return Optional.empty();
    }
}
