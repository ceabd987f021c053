package dev.tandem.device.gpu.opencl;

import dev.tandem.device.gpu.shared.GpuOpsSuite;
import dev.tandem.runtime.device.Device;
import dev.tandem.kernels.WeightFormat;

import java.util.Set;

import static org.lwjgl.opencl.CL10.CL_DEVICE_EXTENSIONS;

/** Every op on the first OpenCL device (PoCL in CI); the host's bits where the device has fp64. */
class OpenClOpsTest extends GpuOpsSuite {
    @Override
    protected Device openDevice() { return OpenClTestDevices.openFirst(); }

    @Override
    protected Device openFloatActivationDevice() {
        return OpenClDevice.open(OpenClTestDevices.firstDeviceHandle(), OpenClKernels.bundledSource(), false);
    }

    @Override
    protected Set<WeightFormat> supportedFormats() { return OpenClKernels.SUPPORTED_FORMATS; }

    @Override
    protected Set<WeightFormat> integerDotFormatSet() { return OpenClKernels.INTEGER_DOT_FORMATS; }

    /** The host's double steps need cl_khr_fp64 (PoCL has it); without it the values are held to 1e-4. */
    @Override
    protected boolean hostBits() {
        return OpenClInfo.deviceString(OpenClTestDevices.firstDeviceHandle(), CL_DEVICE_EXTENSIONS).contains("cl_khr_fp64");
    }
}
