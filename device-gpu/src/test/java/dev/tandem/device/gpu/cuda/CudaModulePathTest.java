package dev.tandem.device.gpu.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `tandem devices` as the launcher runs it, on the MODULE path, in a fresh JVM with an empty
 * java.io.tmpdir: JCuda (an automatic module) cannot find its JNI library in the jcuda.natives module
 * by itself, so without CudaLibrary's placement the probe would say so; with it, the probe reaches
 * the driver and names what is missing there (libcuda.so.1, or a CUresult such as CUDA_ERROR_NO_DEVICE).
 */
class CudaModulePathTest {
    @Test
    void theCliOnTheModulePathReachesTheDriver(@TempDir Path tmp) throws Exception {
        // The test class path's jars and the modules' classes directories (test-classes are no modules).
        List<String> modules = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(p -> p.endsWith(".jar") ? !p.endsWith("-tests.jar") && !p.contains("junit") && !p.contains("opentest4j")
                        && !p.contains("apiguardian")
                        : p.endsWith(File.separator + "classes") && Files.exists(Path.of(p, "module-info.class")))
                .toList();
        assertTrue(modules.stream().anyMatch(p -> p.contains("jcuda-natives")), "jcuda-natives on the test class path: " + modules);
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-Djava.io.tmpdir=" + tmp, "--add-modules", "jdk.incubator.vector,ALL-MODULE-PATH",
                "--enable-native-access=dev.tandem.runtime,org.lwjgl,dev.tandem.device.gpu,jcuda",
                "--sun-misc-unsafe-memory-access=allow", "-Dorg.lwjgl.opencl.libname=libTandemNoSuchOpenCL.so",
                "-p", String.join(File.pathSeparator, modules), "-m", "dev.tandem.runtime/dev.tandem.runtime.cli.Main", "devices"));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(2, TimeUnit.MINUTES), "tandem devices finished");
        assertEquals(0, p.exitValue(), out);
        String cuda = out.lines().filter(l -> l.startsWith("cuda ")).findFirst().orElse("(no cuda line)");
        System.out.println("module path: " + cuda);
        assertFalse(cuda.contains("cannot see its native library"), cuda);
        assertTrue(cuda.contains("available (priority 20)") || cuda.contains("libcuda.so.1") || cuda.contains("CUDA_ERROR_"), out);
        assertTrue(Files.exists(tmp.resolve(System.mapLibraryName("JCudaDriver-12.6.0-linux-x86_64"))),
                "the JNI library was placed in java.io.tmpdir");
    }
}
