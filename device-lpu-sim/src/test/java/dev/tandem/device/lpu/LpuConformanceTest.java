package dev.tandem.device.lpu;

import dev.tandem.conformance.DeviceConformanceSuite;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.Devices;
import dev.tandem.kernels.Ops;
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

    /**
     * The emulator's RmsNorm instruction is the host's Ops.rmsnorm (ChipArray): its bits decide the
     * 8-bit activation levels of the Q8_0/Q4_0 blocks, so the reference must take the same ones.
     */
    @Override
    protected void referenceRmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        Ops.rmsnorm(out, outOff, x, xOff, weight, n, eps);
    }
}
