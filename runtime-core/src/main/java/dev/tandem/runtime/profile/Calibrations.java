package dev.tandem.runtime.profile;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.DeviceSource;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.Devices;

import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/** Calibrating a present device when it has no usable profile (first use), or lacks a model's formats. */
public final class Calibrations {
    private Calibrations() {}

    /** What ensuring a device's profile did. */
    public enum Outcome { FOUND, CALIBRATED, EXTENDED }

    /**
     * Makes sure the group's device has a profile on this machine covering formats: measures the
     * whole grid when there is none (or the file is unusable: warn says why), only the missing
     * formats' matmuls when it lacks some, nothing otherwise.
     */
    public static Outcome ensure(ProfileStore store, DeviceGroup g, Set<WeightFormat> formats,
                                 Calibrator.Progress progress, Consumer<String> warn) {
        return ensure(store, g, formats, Calibrator.Grid.DEFAULT, progress, warn);
    }

    /** {@link #ensure} over a given grid (tests time a small one). */
    public static Outcome ensure(ProfileStore store, DeviceGroup g, Set<WeightFormat> formats, Calibrator.Grid grid,
                                 Calibrator.Progress progress, Consumer<String> warn) {
        return ensure(store, g, formats, grid, Double.POSITIVE_INFINITY, progress, warn);
    }

    /**
     * {@link #ensure} that gives up after limitSeconds of measuring ({@link Calibrator.TooSlowException}),
     * saving nothing: a first use must not hold a run up indefinitely on a slow or loaded device.
     */
    public static Outcome ensure(ProfileStore store, DeviceGroup g, Set<WeightFormat> formats, Calibrator.Grid grid,
                                 double limitSeconds, Calibrator.Progress progress, Consumer<String> warn) {
        return ensure(store, g, formats, grid, limitSeconds, Calibrator.DEFAULT_POINT_LIMIT_SECONDS, progress, warn);
    }

    /** {@link #ensure} with each point bounded to pointLimitSeconds ({@link Calibrator#withPointLimit}). */
    public static Outcome ensure(ProfileStore store, DeviceGroup g, Set<WeightFormat> formats, Calibrator.Grid grid,
                                 double limitSeconds, double pointLimitSeconds, Calibrator.Progress progress, Consumer<String> warn) {
        if (g.source() != DeviceSource.PRESENT) {
            throw new IllegalArgumentException(g.name() + " is not a present device");
        }
        String key = ProfiledCosts.profileKey(g);
        Optional<DeviceProfile> found = store.find(key);
        store.problem(key).ifPresent(why -> warn.accept("ignoring " + why + "; recalibrating"));
        Set<WeightFormat> missing = new LinkedHashSet<>(formats);
        if (found.isPresent()) {
            ProfileModel model = ProfileModel.of(found.get());
            missing.removeIf(model::knows);
            if (missing.isEmpty()) {
                return Outcome.FOUND;
            }
        }
        try (Device d = Devices.open(g.name(), g.options())) {
            Calibrator c = new Calibrator(d, found.map(DeviceProfile::cacheBytes).orElseGet(Calibrator::hostCacheBytes), grid)
                    .withPointLimit(pointLimitSeconds);
            if (Double.isFinite(limitSeconds)) {
                c.withTimeLimit(limitSeconds);
            }
            if (found.isPresent()) {
                long t0 = System.nanoTime();
                store.save(found.get().plus(c.matmulsOf(missing, progress), (System.nanoTime() - t0) / 1e9));
                return Outcome.EXTENDED;
            }
            store.save(c.calibrate(key, missing, progress));
            return Outcome.CALIBRATED;
        }
    }

    /** Points a first calibration of these formats times (the base formats included), for a progress bar. */
    public static int points(Set<WeightFormat> formats) {
        return points(formats, Calibrator.Grid.DEFAULT);
    }

    /** The same over grid. */
    public static int points(Set<WeightFormat> formats, Calibrator.Grid grid) {
        Set<WeightFormat> all = new LinkedHashSet<>(Calibrator.BASE_FORMATS);
        all.addAll(formats);
        return grid.points(all.size(), true);
    }
}
