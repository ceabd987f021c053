package dev.tandem.device.lpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.conformance.SharedData;
import dev.tandem.runtime.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `tandem generate --device lpu ...` end to end: ids, the stats line, the trace, and the capacity error. */
class LpuCliTest {

    private static String[] run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new String[] {Integer.toString(code), out.toString(), err.toString()};
    }

    @Test
    void generatesTheReferenceIdsWithStatsAndATrace(@TempDir Path dir) throws IOException {
        Path trace = dir.resolve("trace.json");
        String[] r = run("generate", "-m", SharedData.model("stories260K-f16.gguf").toString(), "--prompt-ids", "1,77,300",
                "-n", "12", "--ids", "--temp", "0", "--device", "lpu", "--lpu-preset", "lp30", "--lpu-chips", "2", "--trace", trace.toString());
        assertEquals("0", r[0], r[2]);
        int[] expected = Arrays.copyOf(SharedData.ints(SharedData.reference("stories260K-f16.gguf.json")
                .get("cases").get(1).get("greedy_ids")), 12);
        assertArrayEquals(expected, Arrays.stream(r[1].trim().split(" ")).mapToInt(Integer::parseInt).toArray());
        assertTrue(r[2].contains("lpu: preset=lp30 chips=2 cycles/token="), r[2]);
        assertTrue(r[2].contains("busiest="), r[2]);
        JsonNode events = new ObjectMapper().readTree(trace.toFile());
        assertTrue(events.toString().contains("\"ph\":\"X\""), "the trace has instruction slices");
    }

    @Test
    void chipFieldsCanBeOverriddenFromTheCommandLine() {
        String[] base = {"generate", "-m", SharedData.model("stories260K.bin").toString(), "--prompt-ids", "1",
                "-n", "4", "--ids", "--device", "lpu", "--lpu-chips", "1"};
        String[] slow = Arrays.copyOf(base, base.length + 2);
        slow[base.length] = "--lpu-set";
        slow[base.length + 1] = "clockHz=4.5e8";
        String[] a = run(base);
        String[] b = run(slow);
        assertEquals("0", a[0], a[2]);
        assertEquals("0", b[0], b[2]);
        assertTrue(a[2].contains("at 900 MHz") && b[2].contains("at 450 MHz"), a[2] + "\n" + b[2]);
    }

    @Test
    void aModelTooBigForTheChipsSaysHowManyWouldDo() {
        // stories260K with its 512-position KV cache in fp32 needs more than one chip shrunk to 1 MiB.
        String[] r = run("generate", "-m", SharedData.model("stories260K.bin").toString(), "--prompt-ids", "1",
                "-n", "2", "--device", "lpu", "--lpu-chips", "1", "--lpu-set", "sramBytes=1048576");
        assertEquals("4", r[0], r[2]);
        assertTrue(r[2].matches("(?s).*does not fit in the SRAM of 1 groqchip1 chip; it needs \\d+ chips.*"), r[2]);
    }

    @Test
    void unknownPresetIsAClearError() {
        String[] r = run("generate", "-m", SharedData.model("stories260K.bin").toString(), "--prompt-ids", "1",
                "-n", "2", "--device", "lpu", "--lpu-preset", "tpu9");
        assertTrue(!r[0].equals("0") && !r[0].equals("1"), "exit " + r[0] + ": " + r[2]);
        assertTrue(r[2].contains("tpu9"), r[2]);
    }

    @Test
    void optionsTravelWithTheDeviceName() {
        String[] r = run("generate", "-m", SharedData.model("stories260K.bin").toString(), "--prompt-ids", "1",
                "-n", "3", "--ids", "--device", "lpu:preset=lp30,chips=2,clockHz=5e8");
        assertEquals("0", r[0], r[2]);
        assertTrue(r[2].contains("lpu: preset=lp30 chips=2 cycles/token=") && r[2].contains("at 500 MHz"), r[2]);
        String[] alias = run("generate", "-m", SharedData.model("stories260K.bin").toString(), "--prompt-ids", "1",
                "-n", "3", "--ids", "--device", "lpu", "--lpu-preset", "lp30", "--lpu-chips", "2", "--lpu-set", "clockHz=5e8");
        assertEquals("0", alias[0], alias[2]);
        assertEquals(r[1], alias[1], "the alias flags are the same options");
        String line = r[2].lines().filter(l -> l.startsWith("lpu:")).findFirst().orElseThrow();
        assertTrue(alias[2].contains(line), "same cycles: " + line + "\n" + alias[2]);
    }

    @Test
    void anUnknownOrConflictingOptionIsAUsageErrorNamingIt() {
        String model = SharedData.model("stories260K.bin").toString();
        String[] unknown = run("generate", "-m", model, "--prompt-ids", "1", "-n", "2", "--device", "lpu:preset=lp30,colour=red");
        assertEquals("2", unknown[0], unknown[2]);
        assertTrue(unknown[2].contains("'colour'") && unknown[2].contains("sramBytes"), unknown[2]);
        assertEquals(1, unknown[2].trim().lines().count(), unknown[2]);
        assertTrue(unknown[2].trim().length() <= 300, "a short line: " + unknown[2]);
        String[] twice = run("generate", "-m", model, "--prompt-ids", "1", "-n", "2", "--device", "lpu:chips=2", "--lpu-chips", "3");
        assertEquals("2", twice[0], twice[2]);
        assertTrue(twice[2].contains("chips") && twice[2].contains("2") && twice[2].contains("3"), twice[2]);
        String[] noDir = run("generate", "-m", model, "--prompt-ids", "1", "-n", "2", "--device", "lpu", "--trace", "/no/such/dir/t.json");
        assertEquals("2", noDir[0], noDir[2]);
        assertTrue(noDir[2].contains("/no/such/dir/t.json") && noDir[2].contains("--trace"), noDir[2]);
        String[] notANumber = run("generate", "-m", model, "--prompt-ids", "1", "-n", "2", "--device", "lpu:chips=many");
        assertEquals("2", notANumber[0], notANumber[2]);
        assertTrue(notANumber[2].contains("chips=many"), notANumber[2]);
    }
}
