package dev.tandem.runtime.cli;

import dev.tandem.conformance.SharedData;
import dev.tandem.runtime.format.GgmlType;
import dev.tandem.runtime.format.GgufFile;
import dev.tandem.runtime.format.GgufTensor;
import dev.tandem.runtime.format.GgufValueType;
import dev.tandem.runtime.format.GgufWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.tandem.runtime.cli.CliTest.tandem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad input never exits 1: each case is its own exit code with one line naming the flag. */
class CliBadInputTest {
    @TempDir
    Path dir;

    /** Exit code, one stderr line that mentions every fragment, and nothing on stdout (the run never started). */
    private static void assertRefused(int code, CliTest.Result r, String... fragments) {
        assertEquals(code, r.code(), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("tandem: "), r.err());
        for (String f : fragments) {
            assertTrue(r.err().contains(f), "'" + f + "' in " + r.err());
        }
        assertEquals("", r.out(), "nothing ran");
    }

    private Path missingDir() { return dir.resolve("no-such-dir").resolve("out.json"); }

    @Test
    void outputsInAMissingDirectoryAreUsageErrorsBeforeTheRun() throws IOException {
        String model = SharedData.model("stories260K.bin").toString();
        String missing = missingDir().toString();
        assertRefused(2, tandem("generate", "-m", model, "--prompt-ids", "1", "-n", "2", "--ids", "--logits-out", missing),
                "--logits-out", "no-such-dir", "does not exist");
        assertRefused(2, tandem("generate", "-n", "2", "--ids", "--trace", missing), "--trace");
        assertRefused(2, tandem("run", "-n", "2", "--pool", "cpu", "--policy", "single", "--trace", missing),
                "--trace", "does not exist");
        assertRefused(2, tandem("compile", "--shape", "llama-3-8b", "--pool", "h100", "--policy", "single", "--trace", missing),
                "--trace", "does not exist");
        Path aFile = Files.writeString(dir.resolve("plain-file"), "x");
        assertRefused(2, tandem("run", "-n", "2", "--pool", "cpu", "--policy", "single", "--trace",
                aFile.resolve("trace.json").toString()), "--trace", "plain-file", "does not exist");
        assertRefused(2, tandem("generate", "-n", "2", "--ids", "--logits-out", dir.toString()), "--logits-out", "is a directory");
    }

    @Test
    void aWritableOutputStillWorks() throws IOException {
        Path logits = dir.resolve("logits.json");
        CliTest.Result r = tandem("generate", "-n", "1", "--ids", "--logits-out", logits.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.readString(logits).startsWith("["));
    }

    @Test
    void infoPrintsTensorNamesFromTheFileEscaped() throws IOException {
        Path seed = Path.of("src/test/resources/dev/tandem/runtime/model/ModelFileFuzzTestInputs/anyBytesLoadOrFailWithOneSafeLine/valid-gguf-gpt2-vocab-f16");
        Path crafted = dir.resolve("named.gguf");
        try (GgufFile g = GgufFile.open(seed)) {
            GgufWriter w = new GgufWriter();
            g.metadata().forEach((key, value) -> {
                String type = g.typeOf(key).orElseThrow();
                if (type.startsWith("ARRAY[")) {
                    w.putArray(key, GgufValueType.valueOf(type.substring(6, type.length() - 1)), value);
                } else {
                    w.put(key, GgufValueType.valueOf(type), value);
                }
            });
            for (GgufTensor t : g.tensors()) {
                w.addRawTensor(t.name(), t.type(), t.dims(), t.data().toArray(ValueLayout.JAVA_BYTE));
            }
            w.addTensor("\u001b[2J\u001b]0;owned\u0007", GgmlType.F32, new long[] {1}, new float[1]);
            w.write(crafted);
        }
        CliTest.Result r = tandem("info", "-m", crafted.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("\\x1b[2J\\x1b]0;owned\\x07"), r.out());
        assertTrue(r.out().chars().noneMatch(c -> c == 0x1b || c == 0x07), "no raw control characters on stdout");
    }

    @Test
    void poolCountsThatOverflowAreUsageErrors() {
        String[] pools = {"lp30*99999999999", "lp30*2147483648", "lp30*2000000000,lp30*2000000000", "lp30*1048577",
                "lp30*1000000,lp30*1000000", "lp30*-1", "lp30*0", "lp30*1e3"};
        for (String pool : pools) {
            CliTest.Result r = tandem("compile", "--shape", "llama-3-8b", "--pool", pool, "--policy", "lpu-only");
            assertRefused(2, r, "--pool", "lp30");
        }
        assertRefused(2, tandem("run", "-n", "2", "--pool", "cpu,lp30*99999999999"), "--pool", "99999999999");
    }

    @Test
    void anUnknownDeviceIsAUsageErrorAndAFailingOneIsUnavailable() {
        assertRefused(2, tandem("generate", "-n", "2", "--ids", "--device", "tpu"), "'tpu'", "cpu", "scalar-test");
        assertRefused(4, tandem("generate", "-n", "2", "--ids", "--device", "broken-test"),
                "broken-test", "failed to open", "driver crashed\\ncreating its context");
        CliTest.Result devices = tandem("devices");
        assertEquals(0, devices.code(), devices.err());
        assertTrue(devices.out().contains("failed to open: device 'broken-test' failed to open"), devices.out());
    }
}
