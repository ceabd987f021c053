package dev.tandem.runtime.device;

import dev.tandem.conformance.DeviceConformanceSuite;

class CpuDeviceConformanceTest extends DeviceConformanceSuite {
    @Override
    protected Device openDevice() {
        return Devices.open("cpu");
    }
}
