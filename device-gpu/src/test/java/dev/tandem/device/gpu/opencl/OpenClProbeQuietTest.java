package dev.tandem.device.gpu.opencl;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A machine without OpenCL is normal: the probe says why OpenCL is unavailable, and LWJGL's loader
 * chatter ("[LWJGL] Failed to load a library ...") never reaches stderr. Each case runs in a fresh JVM,
 * since OpenCL loads once per JVM.
 */
class OpenClProbeQuietTest {
    /** Prints the probe's verdict on stdout; run by the test in a child JVM. */
    public static void main(String[] args) {
        System.out.println(new OpenClBackend().probe());
    }

    record Run(int code, String out, String err) {}

    private static Run probeIn(String... jvmFlags) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-cp", System.getProperty("java.class.path")));
        command.addAll(List.of(jvmFlags));
        command.add(OpenClProbeQuietTest.class.getName());
        Process p = new ProcessBuilder(command).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(2, TimeUnit.MINUTES), "the probe finished");
        return new Run(p.exitValue(), out, err);
    }

    @Test
    void anUnloadableOpenClLibraryIsReportedWithoutLwjglChatter() throws Exception {
        Run r = probeIn("-Dorg.lwjgl.opencl.libname=libTandemNoSuchOpenCL.so");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("available=false") && r.out().contains("libTandemNoSuchOpenCL.so")
                && r.out().contains(OpenClBackend.NO_LIBRARY_HINT), r.out());
        assertFalse(r.err().contains("[LWJGL]"), r.err());
    }

    @Test
    void theProbeOnThisMachinePrintsNothingOnStderr() throws Exception {
        Run r = probeIn();
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("available="), r.out());
        assertFalse(r.err().contains("[LWJGL]"), r.err());
    }
}
