package dev.tandem.device.gpu.cuda;

import jcuda.JCudaVersion;
import jcuda.LibUtils;
import jcuda.driver.JCudaDriver;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Loads JCuda's JNI driver library (libJCudaDriver, from the jcuda-natives jar), which links
 * libcuda.so.1, the NVIDIA driver. JCuda reports a failure as a page of nested stack traces; this
 * turns it into one line naming what is missing, remembered for every later call.
 *
 * On the module path JCuda cannot find its own library: it looks the resource up with
 * LibUtils.class.getResourceAsStream, which in a named module (the automatic module jcuda) searches
 * only that module, while the library lies in the jcuda.natives module. JCuda does load a copy that
 * already sits in java.io.tmpdir under the library's file name, so before its first use this class
 * puts the library there from the jcuda.natives module (Module.getResourceAsStream reaches a
 * module's non-package resources from outside).
 */
final class CudaLibrary {
    static final String NO_DRIVER_HINT = "install the NVIDIA driver (it provides libcuda.so.1)";
    private static final String NATIVES_MODULE = "jcuda.natives";
    private static boolean loaded;
    private static String failure;

    private CudaLibrary() {}

    /** Loads the JNI library once; throws UnsatisfiedLinkError with a one-line reason when it cannot. */
    static synchronized void load() {
        if (loaded) return;
        if (failure != null) throw new UnsatisfiedLinkError(failure);
        try {
            placeForNamedModule();
            // The first use of JCudaDriver runs its static initializer, which loads the JNI library.
            // Return codes are checked by CudaException.check, so JCuda's own exceptions stay off.
            JCudaDriver.setExceptionsEnabled(false);
            loaded = true;
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            failure = reason(String.valueOf(e.getMessage()));
            throw new UnsatisfiedLinkError(failure);
        } catch (IOException e) {
            failure = "cannot copy JCuda's native library to java.io.tmpdir: " + e.getMessage();
            throw new UnsatisfiedLinkError(failure);
        }
    }

    /** On the module path: copies libJCudaDriver from jcuda.natives to where JCuda looks (a no-op on the class path). */
    private static void placeForNamedModule() throws IOException {
        Module jcuda = JCudaDriver.class.getModule();  // a class literal does not run the initializer
        if (!jcuda.isNamed() || jcuda.getLayer() == null) return;
        String file = System.mapLibraryName(LibUtils.createPlatformLibraryName("JCudaDriver-" + JCudaVersion.get()));
        Path target = Path.of(System.getProperty("java.io.tmpdir"), file);
        if (Files.isRegularFile(target) && Files.size(target) > 0) return;
        Module natives = jcuda.getLayer().findModule(NATIVES_MODULE).orElseThrow(() -> new UnsatisfiedLinkError(
                "module " + NATIVES_MODULE + " (the jcuda-natives jar) is not in the module graph"));
        try (InputStream in = natives.getResourceAsStream("lib/" + file)) {
            if (in == null) throw new UnsatisfiedLinkError(NATIVES_MODULE + " has no lib/" + file + " (a jar for another platform?)");
            // Written beside the target and moved, so a concurrent JVM never loads half a file.
            Path part = Files.createTempFile(target.getParent(), file, ".part");
            try {
                Files.copy(in, part, StandardCopyOption.REPLACE_EXISTING);
                Files.move(part, target, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(part);
            }
        }
    }

    /** The line of JCuda's report that names the missing library, or its first line. */
    static String reason(String report) {
        String[] lines = report.split("\\R");
        for (String line : lines) {
            int at = line.indexOf("libcuda.so");
            if (at >= 0) return line.substring(at).strip() + ": " + NO_DRIVER_HINT;
        }
        for (String line : lines) {
            if (line.contains("No resource found with name")) {
                return "JCuda cannot see its native library in the jcuda-natives jar: " + line.strip();
            }
        }
        return lines.length == 0 ? report : lines[0].strip();
    }
}
