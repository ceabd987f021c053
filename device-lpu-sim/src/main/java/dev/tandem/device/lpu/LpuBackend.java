package dev.tandem.device.lpu;

import dev.tandem.runtime.error.TandemException;
import dev.tandem.runtime.device.Availability;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceBackend;
import dev.tandem.runtime.device.DeviceOptions;

import java.util.List;
import java.util.Optional;

/**
 * The LPU emulator as a device backend ("lpu"). It needs no hardware, so it is always available,
 * but its priority is below the host CPU's: {@code --device auto} never picks an emulator. Options
 * ({@code --device lpu:preset=lp30,chips=4,clockHz=1.1e9}) are read by {@link LpuOptions}; the
 * presets it publishes are the compiler catalog's only figures for groqchip1 and lp30.
 */
public final class LpuBackend implements DeviceBackend {
    @Override
    public String name() { return "lpu"; }

    @Override
    public int priority() { return -5; }

    @Override
    public Availability probe() {
        return Availability.yes("emulated groqchip1 and lp30 chips (timing and numerics in software)");
    }

    @Override
    public List<Device> open() {
        return open(DeviceOptions.none());
    }

    @Override
    public List<Device> open(DeviceOptions options) {
        LpuOptions o = LpuOptions.ofDevice(options);
        return List.of(new LpuDevice(o.config(), o.chips(), o.trace()));
    }

    @Override
    public List<Preset> presets() {
        return ChipConfig.PRESETS.stream().map(LpuOptions::preset).toList();
    }

    @Override
    public Optional<Preset> preset(String name, DeviceOptions options) {
        if (ChipConfig.PRESETS.stream().noneMatch(c -> c.name().equals(name))) {
            return Optional.empty();
        }
        return Optional.of(LpuOptions.preset(LpuOptions.ofPreset(name, options)));
    }

    /** A plan's LPU stage: exactly chips chips of a preset with the pool entry's overrides, no trace. */
    @Override
    public Optional<Device> openPreset(String preset, int chips, DeviceOptions options) {
        if (ChipConfig.PRESETS.stream().noneMatch(c -> c.name().equals(preset))) {
            return Optional.empty();
        }
        if (chips < 1) {
            throw new TandemException("lpu: the chip count must be positive, got " + chips);
        }
        return Optional.of(new LpuDevice(LpuOptions.ofPreset(preset, options), chips, null));
    }
}
