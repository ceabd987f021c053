package dev.tandem.device.lpu;

import dev.tandem.conformance.DeviceConformanceSuite;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.Devices;

/** The shared suite on the emulator, found through ServiceLoader: every op, then stories260K against ../shared/reference. */
class LpuConformanceTest extends DeviceConformanceSuite {
    @Override
    protected Device openDevice() {
        return Devices.open("lpu");
    }
}
