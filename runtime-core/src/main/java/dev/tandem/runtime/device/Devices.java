package dev.tandem.runtime.device;

import dev.tandem.runtime.error.SafeText;
import dev.tandem.runtime.error.TandemException;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;

/**
 * Finds device backends through {@link ServiceLoader} and picks one. runtime-core never names a
 * backend: the host CPU and the null device are registered the same way as external ones.
 */
public final class Devices {
    /** System property that forces one backend by name, like {@code --device}. */
    public static final String FORCE_PROPERTY = "tandem.device";

    private Devices() {}

    /** Every registered backend, highest priority first. Cheap: nothing is opened. */
    public static List<DeviceBackend> backends() {
        // Named modules' providers (module path) and META-INF/services entries (class path) alike.
        List<DeviceBackend> all = new ArrayList<>();
        ServiceLoader.load(DeviceBackend.class).forEach(all::add);
        all.sort(Comparator.comparingInt(DeviceBackend::priority).reversed().thenComparing(DeviceBackend::name));
        return List.copyOf(all);
    }

    /** A backend and what its probe said. */
    public record Probe(DeviceBackend backend, Availability availability) {}

    /** Probes every backend (cheap by contract). */
    public static List<Probe> probeAll() {
        List<Probe> probes = new ArrayList<>();
        for (DeviceBackend b : backends()) {
            probes.add(new Probe(b, b.probe()));
        }
        return probes;
    }

    /**
     * Opens the first device of the named backend; null means {@code -Dtandem.device} if set, else
     * the usable backend of highest priority that computes (never the null device).
     * @throws UnknownDeviceException when no backend has that name
     * @throws DeviceUnavailableException naming every backend probed and why it cannot be used
     */
    public static Device open(String name) {
        return open(name, DeviceOptions.none());
    }

    /**
     * {@link #open(String)} with options for the chosen backend.
     * @throws DeviceOptionException when the backend does not take one of them
     */
    public static Device open(String name, DeviceOptions options) {
        String wanted = name != null ? name : System.getProperty(FORCE_PROPERTY);
        // Only the backends needed are probed: a probe may load a driver (PoCL starts LLVM), which a
        // run on the host CPU has no use for.
        List<DeviceBackend> backends = backends();
        if (wanted != null) {
            String key = wanted.toLowerCase(Locale.ROOT);
            for (DeviceBackend b : backends) {
                if (b.name().equals(key)) {
                    Availability availability = b.probe();
                    if (!availability.available()) {
                        throw new DeviceUnavailableException("device '" + key + "' is unavailable: " + availability.reason());
                    }
                    return first(b, options);
                }
            }
            throw new UnknownDeviceException("no device backend named " + SafeText.quote(wanted) + "; registered: "
                    + String.join(", ", backends.stream().map(DeviceBackend::name).toList()));
        }
        StringBuilder why = new StringBuilder("no usable device:");
        for (DeviceBackend b : backends) {
            if (b.priority() < 0) continue;
            Availability availability = b.probe();
            if (availability.available()) {
                return first(b, options);
            }
            why.append(' ').append(b.name()).append(" (").append(availability.reason()).append(')');
        }
        throw new DeviceUnavailableException(why.toString());
    }

    /**
     * Every backend's presets, highest priority first; a name two backends publish is the first's.
     * Backends publish presets whether or not they are available here: figures need no hardware.
     */
    public static List<DeviceBackend.Preset> presets() {
        List<DeviceBackend.Preset> all = new ArrayList<>();
        for (DeviceBackend b : backends()) {
            for (DeviceBackend.Preset p : b.presets()) {
                if (all.stream().noneMatch(q -> q.name().equals(p.name()))) {
                    all.add(p);
                }
            }
        }
        return List.copyOf(all);
    }

    /**
     * A preset with options from the backend that publishes it, or empty when none does.
     * @throws DeviceOptionException when the preset does not take one of the options
     */
    public static java.util.Optional<DeviceBackend.Preset> preset(String name, DeviceOptions options) {
        for (DeviceBackend b : backends()) {
            java.util.Optional<DeviceBackend.Preset> p = b.preset(name, options);
            if (p.isPresent()) {
                return p;
            }
        }
        return java.util.Optional.empty();
    }

    /**
     * Opens chips of an emulated preset (lp30, groqchip1) with options from whichever backend has it.
     * @throws DeviceUnavailableException when no backend on the module path emulates it
     */
    public static Device openPreset(String preset, int chips, DeviceOptions options) {
        for (Probe p : probeAll()) {
            if (p.availability().available()) {
                java.util.Optional<Device> d = p.backend().openPreset(preset, chips, options);
                if (d.isPresent()) {
                    return d.get();
                }
            }
        }
        throw new DeviceUnavailableException("no device backend emulates '" + preset + "'; registered: " + names(probeAll()));
    }

    /**
     * Every device of a backend, opened with options. A backend that probed fine but throws while
     * opening (a driver or native library failing) is a {@link DeviceUnavailableException}: the user's
     * situation to know about, not a bug in the caller.
     */
    public static List<Device> openAll(DeviceBackend backend, DeviceOptions options) {
        try {
            return backend.open(options);
        } catch (TandemException e) {
            throw e;
        } catch (RuntimeException | LinkageError e) {
            throw new DeviceUnavailableException("device '" + backend.name() + "' failed to open: " + SafeText.line(e.toString()), e);
        }
    }

    private static Device first(DeviceBackend backend, DeviceOptions options) {
        List<Device> devices = openAll(backend, options);
        if (devices.isEmpty()) {
            throw new DeviceUnavailableException("device '" + backend.name() + "' opened no devices");
        }
        for (int i = 1; i < devices.size(); i++) {
            devices.get(i).close();
        }
        return devices.getFirst();
    }

    private static String names(List<Probe> probes) {
        return String.join(", ", probes.stream().map(p -> p.backend().name()).toList());
    }
}
