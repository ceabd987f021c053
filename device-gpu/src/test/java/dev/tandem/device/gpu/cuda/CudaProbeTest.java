package dev.tandem.device.gpu.cuda;

import dev.tandem.runtime.device.Availability;
import dev.tandem.runtime.device.DeviceBackend;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Discovery, the probe's one-line reason without a driver, and CUresult names: no GPU needed. */
class CudaProbeTest {
    private static boolean driverInstalled() {
        return Stream.of("/usr/lib/x86_64-linux-gnu/libcuda.so.1", "/usr/lib64/libcuda.so.1", "/usr/lib/libcuda.so.1",
                "/usr/local/cuda/compat/libcuda.so.1").map(Path::of).anyMatch(Files::exists);
    }

    @Test
    void serviceLoaderFindsCudaAboveOpenCl() {
        List<DeviceBackend> backends = ServiceLoader.load(DeviceBackend.class).stream().map(ServiceLoader.Provider::get).toList();
        DeviceBackend cuda = backends.stream().filter(b -> b.name().equals("cuda")).findFirst().orElseThrow();
        DeviceBackend opencl = backends.stream().filter(b -> b.name().equals("opencl")).findFirst().orElseThrow();
        assertTrue(cuda.priority() > opencl.priority());
    }

    @Test
    void probeNamesWhatIsMissingInOneLine() {
        Availability first = new CudaBackend().probe();
        Availability second = new CudaBackend().probe();
        System.out.println("cuda probe: " + first);
        assertEquals(first, second, "the probe answers the same every time");
        if (!driverInstalled()) {
            assertFalse(first.available());
            assertTrue(first.reason().contains("libcuda.so.1"), first.reason());
        }
        if (!first.available()) {
            assertTrue(first.reason().contains("libcuda.so.1") || first.reason().contains("CUDA_ERROR_"), first.reason());
            assertFalse(first.reason().contains("\n"), "one line: " + first.reason());
            assertTrue(first.reason().length() < 400, first.reason());
        } else {
            assertFalse(first.reason().isBlank(), "available names its devices");
        }
    }

    @Test
    void jcudasLoadReportBecomesItsMissingLibrary() {
        String report = """
                Error while loading native library "JCudaDriver-12.6.0-linux-x86_64"
                Operating system name: Linux
                ---(start of nested stack traces)---
                Stack trace from the attempt to load the library as a file:
                java.lang.UnsatisfiedLinkError: no JCudaDriver-12.6.0-linux-x86_64 in java.library.path: /usr/lib
                Stack trace from the attempt to load the library as a resource:
                java.lang.UnsatisfiedLinkError: /tmp/libJCudaDriver-12.6.0-linux-x86_64.so: libcuda.so.1: cannot open shared object file: No such file or directory
                ---(end of nested stack traces)---""";
        assertEquals("libcuda.so.1: cannot open shared object file: No such file or directory: " + CudaLibrary.NO_DRIVER_HINT,
                CudaLibrary.reason(report));
        String hidden = "Error while loading native library \"JCudaDriver\"\n"
                + "java.io.IOException: No resource found with name '/lib/libJCudaDriver-12.6.0-linux-x86_64.so'\n";
        assertTrue(CudaLibrary.reason(hidden).startsWith("JCuda cannot see its native library"), CudaLibrary.reason(hidden));
        assertEquals("something else", CudaLibrary.reason("something else\nat foo"));
    }

    @Test
    void errorsCarryTheCuResultName() {
        assertEquals("CUDA_SUCCESS", CudaException.errorName(0));
        assertEquals("CUDA_ERROR_INVALID_VALUE", CudaException.errorName(1));
        assertEquals("CUDA_ERROR_OUT_OF_MEMORY", CudaException.errorName(2));
        assertEquals("CUDA_ERROR_NO_DEVICE", CudaException.errorName(100));
        assertEquals("CUDA_ERROR_LAUNCH_FAILED", CudaException.errorName(719));
        CudaException e = new CudaException("cuMemAlloc(1024 bytes)", 2);
        assertEquals("cuMemAlloc(1024 bytes) failed: CUDA_ERROR_OUT_OF_MEMORY (2)", e.getMessage());
        assertEquals(2, e.code());
        assertEquals("CUDA_ERROR_OUT_OF_MEMORY", e.errorName());
        assertDoesNotThrow(() -> CudaException.check(0, "cuInit"));
        var thrown = assertThrows(CudaException.class, () -> CudaException.check(100, "cuInit"));
        assertEquals("cuInit", thrown.call());
        assertTrue(thrown.getMessage().contains("CUDA_ERROR_NO_DEVICE"), thrown.getMessage());
    }
}
