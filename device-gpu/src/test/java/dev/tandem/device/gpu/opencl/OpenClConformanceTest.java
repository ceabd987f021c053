package dev.tandem.device.gpu.opencl;

import dev.tandem.runtime.device.Device;
import dev.tandem.conformance.DeviceConformanceSuite;
import dev.tandem.runtime.device.Devices;
import dev.tandem.kernels.WeightFormat;
import java.util.EnumSet;
import java.util.Set;

/** The shared suite on OpenCL (PoCL in CI): every op, then stories260K against ../shared/reference. */
class OpenClConformanceTest extends DeviceConformanceSuite {
    @Override
    protected Device openDevice() {
        OpenClTestDevices.requireOpenCl();
        return Devices.open("opencl");
    }

    @Override
    protected Set<WeightFormat> unsupportedFormats() {
        return EnumSet.complementOf(EnumSet.copyOf(OpenClKernels.SUPPORTED_FORMATS));
    }
}
