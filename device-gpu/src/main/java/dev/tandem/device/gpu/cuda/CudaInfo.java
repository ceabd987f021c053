package dev.tandem.device.gpu.cuda;

import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;

import java.nio.charset.StandardCharsets;

import static dev.tandem.device.gpu.cuda.CudaException.check;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDeviceTotalMem;

/** Device queries (cuDeviceGet*) with their return codes checked. */
final class CudaInfo {
    private CudaInfo() {}

    static String name(CUdevice device) {
        byte[] name = new byte[256];
        check(cuDeviceGetName(name, name.length, device), "cuDeviceGetName");
        int length = 0;
        while (length < name.length && name[length] != 0) length++;
        return new String(name, 0, length, StandardCharsets.US_ASCII);
    }

    static int attribute(CUdevice device, int attribute) {
        int[] value = new int[1];
        check(cuDeviceGetAttribute(value, attribute, device), "cuDeviceGetAttribute(" + attribute + ")");
        return value[0];
    }

    /** An attribute a newer driver may no longer report (CUDA 13 deprecates the clock rates): fallback then. */
    static int attributeOr(CUdevice device, int attribute, int fallback) {
        int[] value = new int[1];
        return cuDeviceGetAttribute(value, attribute, device) == jcuda.driver.CUresult.CUDA_SUCCESS && value[0] > 0
                ? value[0] : fallback;
    }

    static int multiprocessors(CUdevice device) {
        return attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
    }

    /** Compute capability as major * 10 + minor (90 for Hopper). */
    static int computeCapability(CUdevice device) {
        return attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR) * 10
                + attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
    }

    static long totalMemory(CUdevice device) {
        long[] bytes = new long[1];
        check(cuDeviceTotalMem(bytes, device), "cuDeviceTotalMem");
        return bytes[0];
    }
}
