package dev.tandem.runtime.cli;

import dev.tandem.runtime.error.TandemException;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceSpec;
import dev.tandem.runtime.device.DeviceOptions;
import dev.tandem.runtime.device.Devices;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "devices", mixinStandardHelpOptions = true,
        description = "Lists every device backend, its devices and their specs, or why it is unavailable.")
final class DevicesCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        for (Devices.Probe p : Devices.probeAll()) {
            String name = p.backend().name();
            if (!p.availability().available()) {
                out.printf("%-8s unavailable: %s%n", name, p.availability().reason());
                continue;
            }
            out.printf("%-8s available (priority %d): %s%n", name, p.backend().priority(), p.availability().reason());
            List<Device> devices;
            try {
                devices = Devices.openAll(p.backend(), DeviceOptions.none());
            } catch (TandemException e) {
                out.printf("         failed to open: %s%n", e.getMessage());
                continue;
            }
            for (int i = 0; i < devices.size(); i++) {
                try (Device d = devices.get(i)) {
                    DeviceSpec s = d.spec();
                    out.printf(Locale.ROOT, "  [%d] %s%n", i, s.name());
                    out.printf(Locale.ROOT, "      kind %s, memory %.2f GiB, bandwidth %.1f GB/s, launch overhead %.1f us, power %.0f W%n",
                            s.kind(), s.memoryBytes() / (double) (1L << 30), s.memoryBandwidth() / 1e9,
                            s.launchOverheadSeconds() * 1e6, s.boardPowerWatts());
                    out.printf(Locale.ROOT, "      peak %s%n", s.peakFlops().entrySet().stream()
                            .map(e -> String.format(Locale.ROOT, "%s %.1f GFLOP/s", e.getKey(), e.getValue() / 1e9))
                            .reduce((a, b) -> a + ", " + b).orElse("n/a"));
                }
            }
        }
        return ExitCodes.OK;
    }
}
