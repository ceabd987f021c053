package dev.tandem.device.gpu.opencl;

import dev.tandem.device.gpu.shared.NativeSignals;
import dev.tandem.runtime.device.DeviceBuffer;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Using OpenCL leaves the JVM's signal handlers in place. PoCL starts LLVM, which installs crash
 * handlers over the JVM's (SA_RESETHAND): a JVM that then hits an armed safepoint poll on two threads
 * at once could die of SIGSEGV without an hs_err file. Runs in a child JVM, because the first use of
 * OpenCL in a JVM is the one that matters and another test class may have made it already here.
 */
class OpenClSignalHandlersTest {
    private static final int SIGSEGV = 11;

    /** Probes, opens a device and runs a kernel, printing after each which signals changed. */
    public static void main(String[] args) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment[] start = NativeSignals.snapshot(arena);
            System.out.println("owner-before " + handlerOwner(start[SIGSEGV]));
            System.out.println("probe " + new OpenClBackend().probe().available() + " changed " + NativeSignals.changedSince(start, arena));
            try (OpenClDevice device = OpenClTestDevices.openFirst()) {
                System.out.println("open changed " + NativeSignals.changedSince(start, arena));
                DeviceBuffer acc = device.allocate(16);
                DeviceBuffer x = device.allocate(16);
                device.write(acc, 0, new float[16], 0, 16);
                device.write(x, 0, new float[16], 0, 16);
                device.add(acc, x, 16);
                device.synchronize();
                System.out.println("run changed " + NativeSignals.changedSince(start, arena));
            }
            System.out.println("owner-after " + handlerOwner(NativeSignals.snapshot(arena)[SIGSEGV]));
        }
    }

    /** The file mapped where a sigaction's handler points, from /proc/self/maps. */
    static String handlerOwner(MemorySegment sigaction) throws IOException {
        long handler = sigaction.get(ValueLayout.JAVA_LONG, 0);
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            String[] f = line.trim().split("\\s+");
            String[] range = f[0].split("-");
            if (Long.compareUnsigned(handler, Long.parseUnsignedLong(range[0], 16)) >= 0
                    && Long.compareUnsigned(handler, Long.parseUnsignedLong(range[1], 16)) < 0) {
                return f.length > 5 ? Path.of(f[5]).getFileName().toString() : "(anonymous)";
            }
        }
        return "(unmapped " + Long.toHexString(handler) + ")";
    }

    @Test
    void openClLeavesTheJvmSignalHandlersInPlace() throws Exception {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-cp", System.getProperty("java.class.path"), OpenClSignalHandlersTest.class.getName()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().remove("LD_PRELOAD"); // libjsig would keep the handlers itself: test NativeSignals alone
        Process p = builder.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(2, TimeUnit.MINUTES), "the child finished");
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("owner-before libjvm.so"), out);
        assertTrue(out.contains("probe true changed []"), out);
        assertTrue(out.contains("open changed []"), out);
        assertTrue(out.contains("run changed []"), out);
        assertTrue(out.contains("owner-after libjvm.so"), out);
    }
}
