package dev.tandem.device.gpu.opencl;

import dev.tandem.runtime.device.Availability;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceBackend;
import dev.tandem.runtime.device.DeviceUnavailableException;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import static org.lwjgl.opencl.CL10.CL_DEVICE_NAME;
import static org.lwjgl.opencl.CL10.CL_DEVICE_TYPE;
import static org.lwjgl.opencl.CL10.CL_DEVICE_TYPE_GPU;

/** OpenCL devices through LWJGL: every device of every platform the ICD loader finds, GPUs first. */
public final class OpenClBackend implements DeviceBackend {
    static final String NO_LIBRARY_HINT = "install an OpenCL ICD loader and a driver, e.g. "
            + "'apt-get install ocl-icd-libopencl1 pocl-opencl-icd'";

    @Override
    public String name() { return "opencl"; }

    @Override
    public int priority() { return 10; }

    /** Loads libOpenCL and lists the platforms: no context is created and nothing is compiled. */
    @Override
    public Availability probe() {
        try {
            OpenClLibrary.load();
            List<Long> devices = allDevices();
            if (devices.isEmpty()) {
                return Availability.no("OpenCL library loaded, but it found no platform or device: " + NO_LIBRARY_HINT);
            }
            List<String> names = new ArrayList<>();
            for (long device : devices) names.add(OpenClInfo.deviceString(device, CL_DEVICE_NAME));
            return Availability.yes(String.join(", ", names));
        } catch (UnsatisfiedLinkError missing) {
            // Also LWJGL's own liblwjgl.so: the message names which library it was.
            return Availability.no("cannot load a native library (" + missing.getMessage() + "): " + NO_LIBRARY_HINT);
        } catch (OpenClException broken) {
            return Availability.no(broken.getMessage());
        }
    }

    @Override
    public List<Device> open() {
        Availability availability = probe();
        if (!availability.available()) throw new DeviceUnavailableException("opencl: " + availability.reason());
        List<Device> opened = new ArrayList<>();
        try {
            for (long device : allDevices()) opened.add(OpenClDevice.open(device));
            return List.copyOf(opened);
        } catch (OpenClException failed) {
            opened.forEach(Device::close);
            throw new DeviceUnavailableException("opencl: opening a device failed: " + failed.getMessage(), failed);
        }
    }

    /** Device handles of all platforms, GPUs before anything else. */
    static List<Long> allDevices() {
        List<Long> devices = new ArrayList<>();
        for (long platform : OpenClInfo.platforms()) devices.addAll(OpenClInfo.devices(platform));
        devices.sort(Comparator.comparingInt(d -> isGpu(d) ? 0 : 1));
        return devices;
    }

    static boolean isGpu(long device) {
        return (OpenClInfo.deviceLong(device, CL_DEVICE_TYPE) & CL_DEVICE_TYPE_GPU) != 0;
    }
}
