package dev.tandem.device.gpu.opencl;

import dev.tandem.runtime.device.Device;
import dev.tandem.conformance.DeviceConformanceSuite;
import dev.tandem.runtime.device.Devices;
import dev.tandem.kernels.Ops;
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

    // quantizesActivations() and referenceDot() keep the suite's defaults: the Q8_0/Q4_0 kernels
    // quantize activations as the host does under tandem.quantDot (OpenClOpsTest checks their bits).

    /** tandem.cl's rmsnorm is the host's Ops.rmsnorm (OpenClOpsTest checks its bits). */
    @Override
    protected void referenceRmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        Ops.rmsnorm(out, outOff, x, xOff, weight, n, eps);
    }
}
