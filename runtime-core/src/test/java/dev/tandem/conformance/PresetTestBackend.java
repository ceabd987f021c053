package dev.tandem.conformance;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.device.Availability;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceBackend;
import dev.tandem.runtime.device.DeviceKind;
import dev.tandem.runtime.device.DeviceSpec;
import dev.tandem.runtime.device.DeviceUnavailableException;

import java.util.List;
import java.util.Map;

/**
 * A test double of the LPU emulator's presets for runtime-core's own tests, which cannot see
 * device-lpu-sim (it depends on runtime-core): the compiler's tests plan on "lp30" and "groqchip1"
 * pools. The figures are those device-lpu-sim's ChipConfig presets publish; its
 * CatalogAgreesWithPresetsTest checks that this double still agrees with them. Where both are on the
 * class path the emulator's own presets win (higher priority), and this backend never opens.
 */
public final class PresetTestBackend implements DeviceBackend {
    @Override public String name() { return "lpu-presets-test"; }

    @Override public int priority() { return -20; }

    @Override public Availability probe() { return Availability.no("test double: publishes LPU presets, opens nothing"); }

    @Override public List<Device> open() { throw new DeviceUnavailableException("the preset test double opens nothing"); }

    @Override
    public List<Preset> presets() {
        return List.of(
                preset("groqchip1", "GroqChip1 (emulated preset)", 900e6, 220L << 20, 88 * 2 * 320 * 900e6, 2.0 * 4 * 320 * 320 * 900e6,
                        4, 275, new DeviceSpec.Link(2 * 15e9, 450 / 900e6), new DeviceSpec.Link(32e9, 10e-6)),
                preset("lp30", "LP30 (emulated preset)", 1e9, 500_000_000L, 234 * 2 * 320 * 1e9, 2.0 * 6 * 320 * 320 * 1e9,
                        2, 300, new DeviceSpec.Link(12 * 14e9, 400 / 1e9), new DeviceSpec.Link(100e9, 5e-6)));
    }

    private static Preset preset(String name, String title, double clockHz, long sram, double bw, double int8Flops, int f16Slowdown,
                                 double watts, DeviceSpec.Link c2c, DeviceSpec.Link toHost) {
        Map<WeightFormat, Double> peak = new java.util.EnumMap<>(WeightFormat.class);
        for (WeightFormat f : WeightFormat.values()) {
            // the integer formats (Q8_0, Q4_0 and the K-quants) at the int8 rate
            peak.put(f, switch (f) {
                case F32 -> int8Flops / 8;
                case F16, BF16 -> int8Flops / f16Slowdown;
                case Q8_0, Q4_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K -> int8Flops;
            });
        }
        Map<DeviceKind, DeviceSpec.Link> links = Map.of(DeviceKind.LPU, c2c, DeviceKind.GPU, toHost, DeviceKind.CPU, toHost);
        return new Preset(name, new DeviceSpec(title, DeviceKind.LPU, sram, bw, peak, watts, 0, links, clockHz), 8);
    }
}
