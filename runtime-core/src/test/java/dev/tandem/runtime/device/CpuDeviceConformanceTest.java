package dev.tandem.runtime.device;

import dev.tandem.conformance.DeviceConformanceSuite;
import dev.tandem.kernels.Ops;

class CpuDeviceConformanceTest extends DeviceConformanceSuite {
    @Override
    protected Device openDevice() {
        return Devices.open("cpu");
    }

    /** The cpu device normalizes with Ops.rmsnorm (see the suite: its bits decide the 8-bit activation levels). */
    @Override
    protected void referenceRmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        Ops.rmsnorm(out, outOff, x, xOff, weight, n, eps);
    }
}
