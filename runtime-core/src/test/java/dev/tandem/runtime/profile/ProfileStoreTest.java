package dev.tandem.runtime.profile;

import dev.tandem.kernels.WeightFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProfileStoreTest {
    @TempDir
    Path dir;

    private ProfileStore store() {
        return new ProfileStore(dir, SyntheticProfiles.machine());
    }

    private DeviceProfile profile() {
        return SyntheticProfiles.profile("cpu", SyntheticProfiles.machine(), 32L << 20, List.of(WeightFormat.F32, WeightFormat.Q8_0));
    }

    @Test
    void aSavedProfileReadsBackEqualAndItsFileIsNamedByDeviceAndMachine() {
        Path f = store().save(profile());
        assertTrue(f.startsWith(dir));
        assertTrue(f.getFileName().toString().startsWith("cpu-"), f.toString());
        ProfileStore fresh = store();
        assertEquals(profile(), fresh.read("cpu"));
        assertEquals(profile(), fresh.find("cpu").orElseThrow());
        assertTrue(fresh.model("cpu").orElseThrow().knows(WeightFormat.Q8_0));
        // Another machine's store looks for another file.
        ProfileStore other = new ProfileStore(dir, new MachineIdentity("Other CPU", 64, 64, 512, "JVM", "test"));
        assertTrue(other.find("cpu").isEmpty());
        assertTrue(other.problem("cpu").isEmpty(), "a missing file is no problem, just no profile");
    }

    @Test
    void aMissingProfileIsATypedErrorThatSaysHowToMakeOne() {
        var e = assertThrows(ProfileStore.NoProfileException.class, () -> store().read("opencl"));
        assertTrue(e.getMessage().contains("tandem calibrate --device opencl"), e.getMessage());
    }

    @Test
    void aCorruptedFileIsAOneLineErrorNamingFileAndPlaceAndFindIgnoresItWithTheReason() throws Exception {
        ProfileStore s = store();
        Files.createDirectories(dir);
        Files.writeString(s.file("cpu"), "{\"format_version\": 1, \"device\": \"cpu\",\n \"measurements\": [ {\"kind\": ");
        ProfileException e = assertThrows(ProfileException.class, () -> s.read("cpu"));
        assertTrue(e.getMessage().contains(s.file("cpu").toString()), e.getMessage());
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(s.find("cpu").isEmpty());
        assertTrue(s.problem("cpu").orElseThrow().contains("not a profile"));
    }

    @Test
    void aForeignProfileIsNeverUsed() throws Exception {
        ProfileStore s = store();
        DeviceProfile foreign = new DeviceProfile(1, "cpu", "x", new MachineIdentity("Other CPU", 64, 64, 512, "JVM", "test"),
                "t", 1, 1, profile().measurements());
        Files.createDirectories(dir);
        Files.writeString(s.file("cpu"), ProfileStore.toJson(foreign)); // copied in from another machine
        ProfileException e = assertThrows(ProfileException.class, () -> s.read("cpu"));
        assertTrue(e.getMessage().contains("another machine"), e.getMessage());
        assertTrue(s.find("cpu").isEmpty());
        assertTrue(s.model("cpu").isEmpty());
    }

    @Test
    void badFieldsAreNamed() throws Exception {
        ProfileStore s = store();
        Files.createDirectories(dir);
        String good = ProfileStore.toJson(profile());
        Files.writeString(s.file("cpu"), good.replaceFirst("\"format_version\" : 1", "\"format_version\" : 9"));
        assertTrue(assertThrows(ProfileException.class, () -> s.read("cpu")).getMessage().contains("format_version 9"));
        Files.writeString(s.file("cpu"), good.replaceFirst("\"seconds\" : [0-9.eE-]+", "\"seconds\" : -1"));
        assertTrue(assertThrows(ProfileException.class, () -> s.read("cpu")).getMessage().contains("measurements[0]"));
        Files.writeString(s.file("cpu"), good.replaceFirst("\"device\" : \"cpu\"", "\"device\" : \"opencl\""));
        assertTrue(assertThrows(ProfileException.class, () -> s.read("cpu")).getMessage().contains("expected 'cpu'"));
        Files.writeString(s.file("cpu"), "[]");
        assertTrue(assertThrows(ProfileException.class, () -> s.read("cpu")).getMessage().contains("not a profile"));
    }
}
