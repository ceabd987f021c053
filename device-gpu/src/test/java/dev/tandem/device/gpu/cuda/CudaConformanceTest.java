package dev.tandem.device.gpu.cuda;

import dev.tandem.conformance.DeviceConformanceSuite;
import dev.tandem.kernels.Ops;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.Devices;

import java.util.EnumSet;
import java.util.Set;

/** The shared suite on CUDA: every op, then stories260K against ../shared/reference. Skips without a GPU. */
class CudaConformanceTest extends DeviceConformanceSuite {
    @Override
    protected Device openDevice() {
        CudaTestDevices.requireCuda();
        return Devices.open("cuda");
    }

    @Override
    protected Set<WeightFormat> unsupportedFormats() {
        return EnumSet.complementOf(EnumSet.copyOf(CudaKernels.SUPPORTED_FORMATS));
    }

    /** tandem.cu's rmsnorm is the host's Ops.rmsnorm (CudaOpsTest checks its bits). */
    @Override
    protected void referenceRmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        Ops.rmsnorm(out, outOff, x, xOff, weight, n, eps);
    }
}
