package dev.tandem.device.gpu.opencl;

import dev.tandem.device.gpu.shared.NativeSignals;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;

import java.nio.ByteBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.List;

import static dev.tandem.device.gpu.opencl.OpenClException.check;
import static org.lwjgl.opencl.CL10.*;
import static org.lwjgl.system.MemoryUtil.memASCII;

/** Typed queries of platform and device properties (clGetPlatformIDs, clGetDeviceInfo...). */
final class OpenClInfo {
    /** What clGetPlatformIDs returns when the ICD loader finds no driver at all. */
    static final int CL_PLATFORM_NOT_FOUND_KHR = -1001;

    private OpenClInfo() {}

    /** Every platform's handle; empty when the loader finds no driver. */
    static List<Long> platforms() {
        return NativeSignals.preserving(OpenClInfo::listPlatforms);
    }

    /**
     * Every device of a platform; empty when it has none. The first call starts the driver's devices:
     * PoCL's start LLVM, which takes the JVM's signal handlers ({@link NativeSignals} puts them back).
     */
    static List<Long> devices(long platform) {
        return NativeSignals.preserving(() -> listDevices(platform));
    }

    private static List<Long> listPlatforms() {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer count = stack.mallocInt(1);
            int code = clGetPlatformIDs(null, count);
            if (code == CL_PLATFORM_NOT_FOUND_KHR) return List.of();
            check(code, "clGetPlatformIDs");
            if (count.get(0) == 0) return List.of();
            PointerBuffer ids = stack.mallocPointer(count.get(0));
            check(clGetPlatformIDs(ids, (IntBuffer) null), "clGetPlatformIDs");
            List<Long> out = new ArrayList<>();
            for (int i = 0; i < ids.capacity(); i++) out.add(ids.get(i));
            return out;
        }
    }

    private static List<Long> listDevices(long platform) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer count = stack.mallocInt(1);
            int code = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, null, count);
            if (code == CL_DEVICE_NOT_FOUND) return List.of();
            check(code, "clGetDeviceIDs");
            PointerBuffer ids = stack.mallocPointer(count.get(0));
            check(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, ids, (IntBuffer) null), "clGetDeviceIDs");
            List<Long> out = new ArrayList<>();
            for (int i = 0; i < ids.capacity(); i++) out.add(ids.get(i));
            return out;
        }
    }

    static String platformString(long platform, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            check(clGetPlatformInfo(platform, param, (ByteBuffer) null, size), "clGetPlatformInfo");
            ByteBuffer value = stack.malloc((int) size.get(0));
            check(clGetPlatformInfo(platform, param, value, null), "clGetPlatformInfo");
            return memASCII(value, (int) size.get(0) - 1);  // drop the terminating NUL
        }
    }

    static String deviceString(long device, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            check(clGetDeviceInfo(device, param, (ByteBuffer) null, size), "clGetDeviceInfo");
            ByteBuffer value = stack.malloc((int) size.get(0));
            check(clGetDeviceInfo(device, param, value, null), "clGetDeviceInfo");
            return memASCII(value, (int) size.get(0) - 1).strip();
        }
    }

    /** A cl_ulong or cl_bitfield property. */
    static long deviceLong(long device, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            LongBuffer value = stack.mallocLong(1);
            check(clGetDeviceInfo(device, param, value, null), "clGetDeviceInfo");
            return value.get(0);
        }
    }

    /** A cl_uint property. */
    static int deviceInt(long device, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer value = stack.mallocInt(1);
            check(clGetDeviceInfo(device, param, value, null), "clGetDeviceInfo");
            return value.get(0);
        }
    }

    /** A size_t property. */
    static long deviceSize(long device, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer value = stack.mallocPointer(1);
            check(clGetDeviceInfo(device, param, value, null), "clGetDeviceInfo");
            return value.get(0);
        }
    }
}
