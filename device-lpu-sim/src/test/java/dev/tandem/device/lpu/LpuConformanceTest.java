package dev.tandem.device.lpu;

import dev.tandem.conformance.DeviceConformanceSuite;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.Devices;
import dev.tandem.kernels.WeightFormat;
import java.util.EnumSet;
import java.util.Set;

/** The shared suite on the emulator, found through ServiceLoader: every op, then stories260K against ../shared/reference. */
class LpuConformanceTest extends DeviceConformanceSuite {
    @Override
    protected Device openDevice() {
        return Devices.open("lpu");
    }

    @Override
    protected Set<WeightFormat> unsupportedFormats() {
        return EnumSet.complementOf(EnumSet.copyOf(LpuDevice.SUPPORTED_FORMATS));
    }
}
