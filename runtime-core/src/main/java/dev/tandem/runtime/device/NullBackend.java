package dev.tandem.runtime.device;

import dev.tandem.kernels.WeightFormat;

import java.util.List;
import java.util.Map;

/**
 * A device that has a spec and does no compute, so the compiler can plan and its tests can run on
 * machines without the hardware. It is never chosen automatically; ask for it by name ("null").
 */
public final class NullBackend implements DeviceBackend {
    @Override
    public String name() { return "null"; }

    /** Below every real backend, so automatic selection never picks it. */
    @Override
    public int priority() { return -1; }

    @Override
    public Availability probe() { return Availability.yes("plans only: no compute"); }

    @Override
    public List<Device> open() { return List.of(new NullDevice(defaultSpec())); }

    /** A nominal accelerator-shaped spec: 16 GiB, 1 TB/s, 100 TFLOP/s, 300 W. */
    public static DeviceSpec defaultSpec() {
        Map<WeightFormat, Double> peak = new java.util.EnumMap<>(WeightFormat.class);
        for (WeightFormat f : WeightFormat.values()) {
            peak.put(f, 100e12);
        }
        return new DeviceSpec("null device", DeviceKind.GPU, 16L << 30, 1e12, peak, 300, 5e-6,
                Map.of(DeviceKind.CPU, new DeviceSpec.Link(25e9, 10e-6)));
    }
}
