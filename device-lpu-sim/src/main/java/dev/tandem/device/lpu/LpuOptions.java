package dev.tandem.device.lpu;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.device.DeviceBackend;
import dev.tandem.runtime.device.DeviceKind;
import dev.tandem.runtime.device.DeviceOptionException;
import dev.tandem.runtime.device.DeviceOptions;
import dev.tandem.runtime.device.DeviceSpec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The one place LPU device options become a chip: the backend's devices, the presets it publishes to
 * the compiler's catalog and the cost provider's programs all read options here, so an override such
 * as {@code clockHz=1.1e9} reaches all three alike.
 *
 * <p>Keys: {@code preset} (groqchip1, lp30), {@code chips} (a fixed count; default the fewest that
 * hold the model), {@code trace} (a Chrome trace file of the first decode step) and every
 * {@link ChipConfig} field by name. A pool's preset entry ({@code lp30*2:clockHz=1.1e9}) takes the
 * chip fields only: its name is the preset and its count the chips.
 *
 * @param config the preset with the overrides applied
 * @param chips  a fixed chip count, or 0 for as many as the weights need
 * @param trace  where to write the trace, or null
 */
record LpuOptions(ChipConfig config, int chips, Path trace) {
    static final String PRESET = "preset", CHIPS = "chips", TRACE = "trace";
    static final String DEFAULT_PRESET = "groqchip1";

    /** The options of {@code --device lpu:...}. */
    static LpuOptions ofDevice(DeviceOptions options) {
        List<String> keys = new ArrayList<>(List.of(PRESET, CHIPS, TRACE));
        keys.addAll(ChipConfig.fields());
        options.requireKnown("lpu", keys);
        int chips = 0;
        String n = options.get(CHIPS).orElse("0");
        try {
            chips = Integer.parseInt(n);
        } catch (NumberFormatException e) {
            throw new DeviceOptionException("lpu: chips=" + n + " is not a whole number");
        }
        if (chips < 0 || chips > LpuDevice.MAX_CHIPS) {
            throw new DeviceOptionException("lpu: chips must be in [1, " + LpuDevice.MAX_CHIPS + "], got " + chips);
        }
        String trace = options.get(TRACE).orElse("");
        return new LpuOptions(configOf(options.get(PRESET).orElse(DEFAULT_PRESET), options), chips,
                trace.isBlank() ? null : writable(trace));
    }

    /** The trace file, refused before anything runs when its directory cannot take it (it is written on close). */
    private static Path writable(String trace) {
        Path p;
        try {
            p = Path.of(trace).toAbsolutePath();
        } catch (java.nio.file.InvalidPathException e) {
            throw new DeviceOptionException("lpu: trace=" + trace + " is not a path");
        }
        Path dir = p.getParent();
        if (dir == null || !Files.isDirectory(dir) || !Files.isWritable(dir) || Files.isDirectory(p)) {
            throw new DeviceOptionException("lpu: trace=" + trace + ": cannot write a file there");
        }
        return p;
    }

    /** A preset named in a pool, with chip field overrides. */
    static ChipConfig ofPreset(String preset, DeviceOptions options) {
        options.requireKnown(preset, ChipConfig.fields());
        return configOf(preset, options);
    }

    private static ChipConfig configOf(String preset, DeviceOptions options) {
        try {
            ChipConfig c = ChipConfig.preset(preset);
            for (var e : options.values().entrySet()) {
                if (ChipConfig.fields().contains(e.getKey())) {
                    c = c.with(e.getKey(), e.getValue());
                }
            }
            return c;
        } catch (IllegalArgumentException e) {
            // A preset name or a field value the user typed: say which, as a usage error.
            throw new DeviceOptionException("lpu: " + e.getMessage());
        }
    }

    /** The spec of chips chips working together (one chip: what a plan prices a preset's chip on). */
    static DeviceSpec spec(ChipConfig config, int chips, String title) {
        return spec(config, chips, (long) chips * config.sramBytes(), title);
    }

    /** The same with the memory a device offers (a growing one: what its largest array holds). */
    static DeviceSpec spec(ChipConfig config, int chips, long memoryBytes, String title) {
        Map<WeightFormat, Double> flops = new EnumMap<>(WeightFormat.class);
        for (WeightFormat f : WeightFormat.values()) {
            flops.put(f, config.peakFlops(f) * chips);
        }
        // Two chips of a node are joined by linksPerPeer links; the host link carries x to and from a GPU or CPU.
        DeviceSpec.Link c2c = new DeviceSpec.Link(config.linkBytesPerCycle(true) * config.clockHz(),
                config.c2cHopLatencyCycles() / config.clockHz());
        DeviceSpec.Link host = new DeviceSpec.Link(config.hostLinkBitsPerSecond() / 8, config.hostLinkLatencySeconds());
        return new DeviceSpec(title, DeviceKind.LPU, memoryBytes,
                config.memBytesPerCycle() * config.clockHz() * chips, flops, config.powerWatts() * chips, 0,
                Map.of(DeviceKind.LPU, c2c, DeviceKind.GPU, host, DeviceKind.CPU, host), config.clockHz());
    }

    /** A preset as the compiler's catalog lists it: one chip, and the node it joins tensor-parallel. */
    static DeviceBackend.Preset preset(ChipConfig config) {
        return new DeviceBackend.Preset(config.name(), spec(config, 1, "LPU " + config + " (emulated preset)"), config.chipsPerNode());
    }
}
