package dev.tandem.device.lpu;

import dev.tandem.runtime.device.Device;

/** The shared suite on three fixed lp30 chips: every block splits over all three (odd slices), whole models included. */
class LpuTensorParallelConformanceTest extends LpuConformanceTest {
    @Override
    protected Device openDevice() {
        return new LpuDevice(ChipConfig.LP30, 3, null);
    }
}
