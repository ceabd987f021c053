package dev.tandem.device.gpu.opencl;

import dev.tandem.runtime.device.Device;
import dev.tandem.conformance.DeviceConformanceSuite;
import dev.tandem.runtime.device.Devices;
import dev.tandem.kernels.WeightFormat;
import java.util.EnumSet;
import java.util.Set;
import dev.tandem.kernels.WeightMatrix;

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

    @Override
    protected boolean quantizesActivations() {
        return false;
    }

    /** The OpenCL kernels multiply fp32 activations, also for Q8_0 and Q4_0. */
    @Override
    protected float referenceDot(WeightMatrix m, int row, float[] x, int xOff) {
        return m.dotScalarFloat(row, x, xOff);
    }
}
