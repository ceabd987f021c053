package dev.tandem.device.gpu.opencl;

import dev.tandem.runtime.device.Device;
import dev.tandem.conformance.DeviceConformanceSuite;
import dev.tandem.runtime.device.Devices;

/** The shared suite on OpenCL (PoCL in CI): every op, then stories260K against ../shared/reference. */
class OpenClConformanceTest extends DeviceConformanceSuite {
    @Override
    protected Device openDevice() {
        OpenClTestDevices.requireOpenCl();
        return Devices.open("opencl");
    }
}
