package dev.tandem.runtime.device;

class CpuDeviceConformanceTest extends DeviceConformanceSuite {
    @Override
    protected Device openDevice() {
        return Devices.open("cpu");
    }
}
