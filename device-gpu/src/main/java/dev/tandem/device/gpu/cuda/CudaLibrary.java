package dev.tandem.device.gpu.cuda;

import jcuda.driver.JCudaDriver;

/**
 * Loads JCuda's JNI driver library (libJCudaDriver, from the jcuda-natives jar), which links
 * libcuda.so.1, the NVIDIA driver. JCuda reports a failure as a page of nested stack traces; this
 * turns it into one line naming the library that is missing, remembered for every later call.
 */
final class CudaLibrary {
    static final String NO_DRIVER_HINT = "install the NVIDIA driver (it provides libcuda.so.1)";
    private static boolean loaded;
    private static String failure;

    private CudaLibrary() {}

    /** Loads the JNI library once; throws UnsatisfiedLinkError with a one-line reason when it cannot. */
    static synchronized void load() {
        if (loaded) return;
        if (failure != null) throw new UnsatisfiedLinkError(failure);
        try {
            // The first use of JCudaDriver runs its static initializer, which loads the JNI library.
            // Return codes are checked by CudaException.check, so JCuda's own exceptions stay off.
            JCudaDriver.setExceptionsEnabled(false);
            loaded = true;
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            failure = reason(String.valueOf(e.getMessage()));
            throw new UnsatisfiedLinkError(failure);
        }
    }

    /** The line of JCuda's report that names the missing library, or its first line. */
    static String reason(String report) {
        String[] lines = report.split("\\R");
        for (String line : lines) {
            int at = line.indexOf("libcuda.so");
            if (at >= 0) return line.substring(at).strip();
        }
        for (String line : lines) {
            if (line.contains("No resource found with name")) {
                return "JCuda cannot see its native library in the jcuda-natives jar: " + line.strip()
                        + " (on the module path, run with --patch-module jcuda=<jcuda-natives jar> as ./tandem does)";
            }
        }
        return lines.length == 0 ? report : lines[0].strip();
    }
}
