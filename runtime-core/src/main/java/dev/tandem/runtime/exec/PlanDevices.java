package dev.tandem.runtime.exec;

import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceUnavailableException;
import dev.tandem.runtime.device.Devices;

/** How an executor opens the device behind one stage of a plan: the one rule `tandem run` and the engine share. */
public final class PlanDevices {
    private PlanDevices() {}

    /** Opens present backends by name and emulated presets through whichever backend has them; catalog GPUs cannot run. */
    public static Device open(DeviceGroup g, int tensorParallel) {
        return switch (g.source()) {
            case CATALOG -> throw new DeviceUnavailableException("'" + g.name()
                    + "' is a catalog device: it plans but cannot run here; use 'tandem compile' to plan on it");
            case EMULATED_LPU -> Devices.openPreset(g.name(), tensorParallel, g.options());
            case PRESENT -> {
                if (tensorParallel > 1) {
                    throw new DeviceUnavailableException("the plan runs " + g.name() + " " + tensorParallel
                            + "-way tensor parallel; the executor opens one " + g.name() + " device per stage");
                }
                yield Devices.open(g.name(), g.options());
            }
        };
    }
}
