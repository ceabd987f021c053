package dev.tandem.device.gpu.cuda;

import dev.tandem.device.gpu.shared.GpuOpsSuite;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.device.Device;

import java.util.Set;

/** Every op on the first CUDA device; rmsnorm, rope, attention, silu_mul and the integer dot in the host's bits. */
class CudaOpsTest extends GpuOpsSuite {
    @Override
    protected Device openDevice() { return CudaTestDevices.openFirst(); }

    @Override
    protected Device openFloatActivationDevice() { return CudaDevice.open(0, false); }

    @Override
    protected Set<WeightFormat> supportedFormats() { return CudaKernels.SUPPORTED_FORMATS; }

    @Override
    protected Set<WeightFormat> integerDotFormatSet() { return CudaKernels.INTEGER_DOT_FORMATS; }

    /** CUDA has double precision everywhere: the host's double steps are taken in double too. */
    @Override
    protected boolean hostBits() { return true; }
}
