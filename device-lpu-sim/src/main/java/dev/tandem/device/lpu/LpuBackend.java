package dev.tandem.device.lpu;

import dev.tandem.runtime.TandemException;
import dev.tandem.runtime.device.Availability;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceBackend;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The LPU emulator as a device backend ("lpu"). It needs no hardware, so it is always available,
 * but its priority is below the host CPU's: {@code --device auto} never picks an emulator.
 *
 * <p>Configured by system properties (the CLI sets them from its options):
 * {@code tandem.lpu.preset} (groqchip1, lp30; default groqchip1), {@code tandem.lpu.chips} (default:
 * the fewest that hold the model), {@code tandem.lpu.set} (comma-separated chip config overrides,
 * e.g. {@code clockHz=1.1e9,c2cHopLatencyCycles=300}) and {@code tandem.lpu.trace} (a Chrome trace
 * file of the first decode step, written on close).
 */
public final class LpuBackend implements DeviceBackend {
    public static final String PRESET = "tandem.lpu.preset";
    public static final String CHIPS = "tandem.lpu.chips";
    public static final String OVERRIDES = "tandem.lpu.set";
    public static final String TRACE = "tandem.lpu.trace";

    @Override
    public String name() { return "lpu"; }

    @Override
    public int priority() { return -5; }

    @Override
    public Availability probe() {
        return Availability.yes("emulated " + System.getProperty(PRESET, "groqchip1") + " chips (timing and numerics in software)");
    }

    @Override
    public List<Device> open() {
        ChipConfig config;
        int chips;
        try {
            config = configOf(System.getProperty(PRESET, "groqchip1"));
            chips = Integer.parseInt(System.getProperty(CHIPS, "0"));
        } catch (IllegalArgumentException e) {
            // A preset, override or chip count the user typed: say which, as a usage error.
            throw new TandemException("lpu: " + e.getMessage());
        }
        if (chips < 0) {
            throw new TandemException("lpu: the chip count must be positive, got " + chips);
        }
        String trace = System.getProperty(TRACE);
        return List.of(new LpuDevice(config, chips, trace == null || trace.isBlank() ? null : Path.of(trace)));
    }

    /** The preset with the user's overrides ({@value #OVERRIDES}) applied. */
    private static ChipConfig configOf(String preset) {
        ChipConfig config = ChipConfig.preset(preset);
        String overrides = System.getProperty(OVERRIDES);
        return overrides == null || overrides.isBlank() ? config : config.withOverrides(List.of(overrides));
    }

    /** A plan's LPU stage: exactly chips chips of a preset, no trace. */
    @Override
    public Optional<Device> openPreset(String preset, int chips) {
        if (ChipConfig.PRESETS.stream().noneMatch(c -> c.name().equals(preset))) {
            return Optional.empty();
        }
        if (chips < 1) {
            throw new TandemException("lpu: the chip count must be positive, got " + chips);
        }
        try {
            return Optional.of(new LpuDevice(configOf(preset), chips, null));
        } catch (IllegalArgumentException e) {
            throw new TandemException("lpu: " + e.getMessage());
        }
    }
}
