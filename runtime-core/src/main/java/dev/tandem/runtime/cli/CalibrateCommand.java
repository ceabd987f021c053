package dev.tandem.runtime.cli;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.DeviceSource;
import dev.tandem.runtime.compiler.Pool;
import dev.tandem.runtime.profile.Calibrator;
import dev.tandem.runtime.profile.DeviceProfile;
import dev.tandem.runtime.profile.Measurement;
import dev.tandem.runtime.profile.ProfileStore;
import dev.tandem.runtime.profile.ProfiledCosts;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.Devices;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;

@Command(name = "calibrate", mixinStandardHelpOptions = true,
        description = {"Times each op kind over a grid of shapes on a present device (matmul per weight format over rows,",
                "columns and batch, hot and streaming from memory; attention over context and rows; rmsnorm, rope,",
                "silu, add, copies, the embedding; host<->device writes and reads; an empty op's dispatch) and stores",
                "the per-call times as the device's profile for this machine, which 'tandem compile' and 'tandem run' then",
                "predict present devices from. 'tandem run' calibrates on first use by itself.",
                "Profiles live in $XDG_CACHE_HOME/tandem/profiles (or ~/.cache/tandem/profiles; -Dtandem.profiles.dir",
                "or TANDEM_PROFILES_DIR overrides it)."})
final class CalibrateCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--device", paramLabel = "NAME[:KEY=VALUE,...]",
            description = "the present device to calibrate (default: every present backend that computes)")
    String device;

    @Option(names = "--show", description = "print the stored profile instead of measuring")
    boolean show;

    @Option(names = "--json", description = "print the profile(s) as a JSON array on stdout (with --show: as stored)")
    boolean json;

    @Option(names = "--formats", paramLabel = "F,...", split = ",",
            description = "weight formats to time matmuls in, besides F32 and Q8_0 (e.g. F16,Q4_0)")
    List<String> formats;

    @Option(names = "--point-limit", paramLabel = "SECONDS", defaultValue = "" + Calibrator.DEFAULT_POINT_LIMIT_SECONDS,
            description = {"the most one point of the grid may take, warm-up included; a slower point keeps the runs it",
                    "finished (default ${DEFAULT-VALUE}). Devices other than the host cpu get a coarser grid."})
    double pointLimit;

    @Override
    public Integer call() {
        if (!(pointLimit > 0) || !Double.isFinite(pointLimit)) {
            throw new ExitCodes.UsageException("--point-limit must be a positive number of seconds, got " + pointLimit);
        }
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        Set<WeightFormat> wanted = new LinkedHashSet<>(Calibrator.BASE_FORMATS);
        for (String f : formats != null ? formats : List.<String>of()) {
            try {
                wanted.add(WeightFormat.valueOf(f.trim().toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new ExitCodes.UsageException("--formats: unknown weight format '" + f.trim() + "'; formats: "
                        + java.util.Arrays.toString(WeightFormat.values()));
            }
        }
        if (show && formats != null) {
            throw new ExitCodes.UsageException("--formats chooses what to measure; --show measures nothing");
        }
        ProfileStore store = ProfileStore.shared();
        List<DeviceProfile> profiles = new ArrayList<>();
        for (DeviceGroup g : groups()) {
            String key = ProfiledCosts.profileKey(g);
            if (show) {
                profiles.add(store.read(key));
                continue;
            }
            try (Device d = Devices.open(g.name(), g.options())) {
                Calibrator.Grid grid = Calibrator.Grid.forBackend(g.name());
                ProgressBar bar = new ProgressBar(err, "calibrating " + key, dev.tandem.runtime.profile.Calibrations.points(wanted, grid));
                DeviceProfile p = new Calibrator(d, Calibrator.hostCacheBytes(), grid).withPointLimit(pointLimit).calibrate(key, wanted, bar);
                bar.done();
                err.println("saved " + store.save(p));
                profiles.add(p);
            }
        }
        if (json) {
            out.println("[" + String.join(",\n", profiles.stream().map(ProfileStore::toJson).toList()) + "]");
        } else {
            for (DeviceProfile p : profiles) {
                print(out, store, p);
            }
        }
        out.flush();
        err.flush();
        return ExitCodes.OK;
    }

    /** The device asked for, or every present backend that computes. */
    private List<DeviceGroup> groups() {
        String names = device != null ? device : RunCommand.presentBackends();
        if (names.isEmpty()) {
            throw new dev.tandem.runtime.device.DeviceUnavailableException("no present device to calibrate");
        }
        Pool pool = Inputs.pool(names);
        for (DeviceGroup g : pool.groups()) {
            if (g.source() != DeviceSource.PRESENT) {
                throw new ExitCodes.UsageException("--device " + g.name() + ": only present devices are calibrated ("
                        + (g.source() == DeviceSource.CATALOG ? "a catalog GPU is priced from its published figures"
                        : "an emulated LPU is priced by its exact cycles") + ")");
            }
        }
        return pool.groups();
    }

    private static void print(PrintWriter out, ProfileStore store, DeviceProfile p) {
        out.printf(Locale.ROOT, "profile  %s (%s)%n", p.device(), p.deviceName());
        out.printf(Locale.ROOT, "file     %s%n", store.file(p.device()));
        out.printf(Locale.ROOT, "machine  %s, %d cores, %d kernel threads, %d-bit vectors; %s; tandem %s%n", p.machine().cpuModel(),
                p.machine().cores(), p.machine().kernelThreads(), p.machine().vectorBits(), p.machine().jvm(), p.machine().tandemVersion());
        out.printf(Locale.ROOT, "measured %s in %.1f s; last-level cache %d KiB%n", p.createdAt(), p.calibrationSeconds(), p.cacheBytes() / 1024);
        out.printf(Locale.ROOT, "%-18s %-62s %12s%n", "op", "shape", "per call");
        for (Measurement m : p.measurements()) {
            out.printf(Locale.ROOT, "%-18s %-62s %9.2f us%n", m.kind(), m.shape().toString(), m.seconds() * 1e6);
        }
    }
}
