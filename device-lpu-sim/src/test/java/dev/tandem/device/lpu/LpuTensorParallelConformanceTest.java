package dev.tandem.device.lpu;

import dev.tandem.conformance.DeviceConformanceSuite;
import dev.tandem.runtime.device.Device;
import dev.tandem.kernels.WeightFormat;
import java.util.EnumSet;
import java.util.Set;

/** The shared suite on three fixed lp30 chips: every block splits over all three (odd slices), whole models included. */
class LpuTensorParallelConformanceTest extends DeviceConformanceSuite {
    @Override
    protected Device openDevice() {
        return new LpuDevice(ChipConfig.LP30, 3, null);
    }

    @Override
    protected Set<WeightFormat> unsupportedFormats() {
        return EnumSet.complementOf(EnumSet.copyOf(LpuDevice.SUPPORTED_FORMATS));
    }
}
