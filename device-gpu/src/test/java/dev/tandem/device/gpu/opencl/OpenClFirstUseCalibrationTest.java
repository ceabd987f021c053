package dev.tandem.device.gpu.opencl;

import dev.tandem.runtime.cli.Main;
import dev.tandem.runtime.profile.ProfileStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code tandem run} calibrates the OpenCL device (and every other present device of the pool) the
 * first time it runs on it, against the test JVM's profile directory. Each point is cut to a single
 * call ({@code --calibrate-point-limit}), so the coarse grid takes seconds; what is checked is what
 * is measured and kept, never how fast.
 */
class OpenClFirstUseCalibrationTest {
    private record Result(int code, String out, String err) {}

    private static final ProfileStore STORE = ProfileStore.shared();

    private static Result tandem(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    @BeforeEach
    @AfterEach
    void noProfiles() throws Exception {
        // Other tests here price these devices by the roofline: leave no profile behind.
        for (String device : new String[] {"opencl", "cpu"}) {
            Files.deleteIfExists(STORE.file(device));
            STORE.forget(device);
        }
    }

    private static Result run(String pool, String calibrate) {
        return tandem("run", "--pool", pool, "--policy", "single", "-n", "4", "--warmup", "0", "--temp", "0",
                "--calibrate", calibrate, "--calibrate-point-limit", "1e-9");
    }

    @Test
    void aFirstRunOnOpenClCalibratesItSavesTheProfileAndPricesFromIt() {
        OpenClTestDevices.requireOpenCl();
        Result never = run("opencl", "never");
        assertEquals(0, never.code(), never.err());
        assertTrue(never.out().contains("costs    opencl: roofline, uncalibrated"), never.out());
        assertFalse(Files.exists(STORE.file("opencl")), "--calibrate never measures nothing");

        Result first = run("opencl", "auto");
        assertEquals(0, first.code(), first.out() + first.err());
        assertTrue(first.err().contains("calibrating opencl (first use"), first.err());
        assertTrue(first.err().contains("saved " + STORE.file("opencl")), first.err());
        assertTrue(first.out().contains("costs    opencl: calibrated profile"), first.out());
        assertTrue(first.out().contains("timing   decode step on opencl[0]: measured"), first.out());
        assertTrue(Files.exists(STORE.file("opencl")));
        assertTrue(STORE.read("opencl").measurements().stream().anyMatch(m -> m.kind().equals("matmul Q8_0 hot")),
                "the model's format and the base ones are in the profile");

        Result second = run("opencl", "auto");
        assertEquals(0, second.code(), second.err());
        assertFalse(second.err().contains("calibrating"), "found, so nothing is measured again: " + second.err());
        assertTrue(second.out().contains("costs    opencl: calibrated profile"), second.out());
    }

    @Test
    void aPoolOfSeveralPresentDevicesCalibratesEachUncalibratedOneOnce() {
        OpenClTestDevices.requireOpenCl();
        Result first = run("cpu,opencl", "auto");
        assertEquals(0, first.code(), first.out() + first.err());
        for (String device : new String[] {"cpu", "opencl"}) {
            assertEquals(1, first.err().lines().filter(l -> l.equals("saved " + STORE.file(device))).count(), first.err());
            assertTrue(Files.exists(STORE.file(device)), device);
        }
        // The plan names the cost source of the devices it chose (one, under single).
        assertTrue(first.out().contains(": calibrated profile") && !first.out().contains("uncalibrated"), first.out());
        Result second = run("cpu,opencl", "auto");
        assertFalse(second.err().contains("calibrating"), "both found: " + second.err());
    }
}
