package dev.tandem.runtime.device.cpu;

import dev.tandem.runtime.device.Availability;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceBackend;

import java.util.List;

/** The host CPU through the kernels module; always available. */
public final class CpuBackend implements DeviceBackend {
    @Override
    public String name() { return "cpu"; }

    @Override
    public int priority() { return 0; }

    @Override
    public Availability probe() {
        return Availability.yes(Runtime.getRuntime().availableProcessors() + " processors");
    }

    @Override
    public List<Device> open() { return List.of(new CpuDevice()); }
}
