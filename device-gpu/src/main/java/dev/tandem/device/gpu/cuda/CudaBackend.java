package dev.tandem.device.gpu.cuda;

import dev.tandem.runtime.device.Availability;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceBackend;
import dev.tandem.runtime.device.DeviceUnavailableException;
import jcuda.driver.CUdevice;

import java.util.ArrayList;
import java.util.List;

import static dev.tandem.device.gpu.cuda.CudaException.check;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuInit;

/** NVIDIA GPUs through JCuda's driver API: every device the driver reports. Preferred over OpenCL. */
public final class CudaBackend implements DeviceBackend {
    @Override
    public String name() { return "cuda"; }

    /** Above OpenCL's 10: on an NVIDIA machine CUDA is the native path. */
    @Override
    public int priority() { return 20; }

    /** Loads the driver and counts devices: no context is created and nothing is compiled. */
    @Override
    public Availability probe() {
        try {
            int count = deviceCount();
            if (count == 0) return Availability.no("the CUDA driver reports no device");
            List<String> names = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                CUdevice device = new CUdevice();
                check(cuDeviceGet(device, i), "cuDeviceGet(" + i + ")");
                names.add(CudaInfo.name(device));
            }
            return Availability.yes(String.join(", ", names));
        } catch (UnsatisfiedLinkError missing) {
            return Availability.no("cannot load the CUDA driver: " + missing.getMessage());
        } catch (CudaException broken) {
            return Availability.no(broken.getMessage());
        }
    }

    @Override
    public List<Device> open() {
        Availability availability = probe();
        if (!availability.available()) throw new DeviceUnavailableException("cuda: " + availability.reason());
        List<Device> opened = new ArrayList<>();
        try {
            for (int i = 0, count = deviceCount(); i < count; i++) opened.add(CudaDevice.open(i));
            return List.copyOf(opened);
        } catch (CudaException failed) {
            opened.forEach(Device::close);
            throw new DeviceUnavailableException("cuda: opening a device failed: " + failed.getMessage(), failed);
        }
    }

    /** cuInit, then the device count; cuInit fails with CUDA_ERROR_NO_DEVICE where the driver sees no GPU. */
    static int deviceCount() {
        CudaLibrary.load();
        check(cuInit(0), "cuInit");
        int[] count = new int[1];
        check(cuDeviceGetCount(count), "cuDeviceGetCount");
        return count[0];
    }
}
