package dev.tandem.runtime.profile;

import dev.tandem.conformance.SharedData;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.cli.Main;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The calibrate command's flags and what run does with a profile, against the test JVM's profile
 * directory (the build points {@value ProfileStore#DIR_PROPERTY} at target/test-profiles). Each test
 * leaves no profile behind, so other tests keep pricing the cpu by the roofline.
 */
class CalibrateCliTest {
    private record Result(int code, String out, String err) {}

    private static Result tandem(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    private static final ProfileStore STORE = ProfileStore.shared();

    @AfterEach
    void removeProfiles() throws Exception {
        Files.deleteIfExists(STORE.file("cpu"));
        STORE.forget("cpu");
    }

    private static void install() {
        STORE.save(SyntheticProfiles.profile("cpu", STORE.machine(), 32L << 20, List.of(WeightFormat.F32, WeightFormat.Q8_0)));
    }

    @Test
    void theTestsProfilesLiveWhereTheBuildPointsThem() {
        assertTrue(STORE.dir().toString().contains("test-profiles"), STORE.dir().toString());
    }

    @Test
    void showPrintsTheStoredProfileAndJsonPrintsItAsStored() {
        install();
        Result shown = tandem("calibrate", "--device", "cpu", "--show");
        assertEquals(0, shown.code(), shown.err());
        assertTrue(shown.out().contains("profile  cpu (synthetic cpu)"), shown.out());
        assertTrue(shown.out().contains("matmul F32 cold"), shown.out());
        assertTrue(shown.out().contains(STORE.file("cpu").toString()), shown.out());
        Result json = tandem("calibrate", "--device", "cpu", "--show", "--json");
        assertEquals(0, json.code(), json.err());
        assertTrue(json.out().startsWith("[") && json.out().contains("\"device\" : \"cpu\""), json.out());
        assertTrue(json.out().contains("\"format_version\" : 1"), json.out());
    }

    @Test
    void showWithoutAProfileOrWithACorruptedOneIsAOneLineError() throws Exception {
        Result none = tandem("calibrate", "--device", "cpu", "--show");
        assertEquals(2, none.code(), none.err());
        assertTrue(none.err().contains("tandem calibrate --device cpu"), none.err());
        Files.createDirectories(STORE.dir());
        Files.writeString(STORE.file("cpu"), "{ broken");
        Result bad = tandem("calibrate", "--device", "cpu", "--show");
        assertEquals(3, bad.code(), bad.err());
        assertEquals(1, bad.err().lines().count(), bad.err());
        assertTrue(bad.err().contains(STORE.file("cpu").toString()) && bad.err().contains("not a profile"), bad.err());
    }

    @Test
    void badFlagsAreUsageErrors() {
        Result lpu = tandem("calibrate", "--device", "lp30", "--show");
        assertEquals(2, lpu.code(), lpu.err());
        assertTrue(lpu.err().contains("only present devices"), lpu.err());
        Result catalog = tandem("calibrate", "--device", "h100");
        assertEquals(2, catalog.code(), catalog.err());
        Result format = tandem("calibrate", "--device", "cpu", "--formats", "Q9_9");
        assertEquals(2, format.code(), format.err());
        assertTrue(format.err().contains("--formats") && format.err().contains("Q9_9"), format.err());
        Result both = tandem("calibrate", "--device", "cpu", "--show", "--formats", "F16");
        assertEquals(2, both.code(), both.err());
        Result limit = tandem("calibrate", "--device", "cpu", "--point-limit", "0");
        assertEquals(2, limit.code(), limit.err());
        assertTrue(limit.err().contains("--point-limit"), limit.err());
        Result when = tandem("run", "--pool", "cpu", "--calibrate", "sometimes");
        assertEquals(2, when.code(), when.err());
        assertTrue(when.err().contains("--calibrate"), when.err());
        for (String bad : new String[] {"0", "-1"}) {
            Result runLimit = tandem("run", "--pool", "cpu", "--calibrate-point-limit", bad);
            assertEquals(2, runLimit.code(), runLimit.err());
            assertTrue(runLimit.err().contains("--calibrate-point-limit") && runLimit.err().strip().lines().count() == 1,
                    runLimit.err());
        }
    }

    @Test
    void runPricesACalibratedDeviceFromItsProfileAndReportsTheTimingLine() {
        String model = SharedData.model("stories260K.bin").toString();
        Result roofline = tandem("run", "-m", model, "--pool", "cpu", "--policy", "single", "-n", "4", "--warmup", "0", "--calibrate", "never");
        assertEquals(0, roofline.code(), roofline.err());
        assertTrue(roofline.out().contains("costs    cpu: roofline, uncalibrated"), roofline.out());
        assertTrue(roofline.out().contains("not judged, the device is uncalibrated"), roofline.out());

        install();
        Result profiled = tandem("run", "-m", model, "--pool", "cpu", "--policy", "single", "-n", "4", "--warmup", "0", "--calibrate", "never");
        assertEquals(0, profiled.code(), profiled.err());
        assertTrue(profiled.out().contains("costs    cpu: calibrated profile"), profiled.out());
        assertTrue(profiled.out().contains("timing   decode step on cpu[0]: measured"), profiled.out());
        assertTrue(profiled.out().contains("(median of 3 steps"), profiled.out());
        assertTrue(profiled.out().contains("not part of the verdict"), profiled.out());
        assertTrue(profiled.out().contains("per decode step by kernel class"), profiled.out());
        for (KernelClass k : KernelClass.values()) {
            assertTrue(profiled.out().contains("  " + k.label() + " "), "a line for " + k.label() + ": " + profiled.out());
        }
        assertTrue(profiled.out().contains("verdict  VERIFIED"), profiled.out());
        // The synthetic profile prices a decode step far from what the cpu takes, in one direction or the
        // other; judged, the same run is not verified (no clock decides this: the profile is off by design).
        Result judged = tandem("run", "-m", model, "--pool", "cpu", "--policy", "single", "-n", "4", "--warmup", "0",
                "--calibrate", "never", "--judge-timing");
        assertTrue(judged.out().contains("timing   decode step on cpu[0]"), judged.out());
        assertEquals(judged.out().contains(": within 25%") ? 0 : 1, judged.code(), judged.out());
    }
}
