package dev.tandem.runtime.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.tandem.runtime.cli.CliTest.tandem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** tandem device-bench: a tiny run on the cpu writes the table and the JSON; bad flags are usage errors (no timing checks). */
class DeviceBenchCommandTest {
    @Test
    void tinyCpuRunPrintsTheTableAndWritesTheJson(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("bench.json");
        CliTest.Result r = tandem("device-bench", "--device", "cpu", "--copy-mib", "1", "--matvec-mib", "0.25", "--cols", "256",
                "--formats", "Q4_0", "--batch", "4", "--models", "synthetic:F32", "--decode-tokens", "2", "--warmup", "1",
                "--runs", "2", "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("read+write") && r.out().contains("Q4_0") && r.out().contains("synthetic:F32"), r.out());
        JsonNode o = new ObjectMapper().readTree(Files.readString(json));
        assertEquals(1 << 20, o.path("copy").path("bytes").asLong());
        assertEquals("Q4_0", o.path("matvec").get(0).path("format").asText());
        assertEquals(4, o.path("matmul_batched").get(0).path("batch").asInt());
        assertEquals("synthetic", o.path("models").get(0).path("shape").asText());
        assertEquals(0, o.path("errors").size());
    }

    @Test
    void badFlagsAreUsageErrorsNamingTheFlag() {
        CliTest.Result format = tandem("device-bench", "--formats", "Q9_9", "--models", "none");
        assertEquals(2, format.code(), format.err());
        assertTrue(format.err().contains("--formats") && format.err().contains("Q9_9"), format.err());
        CliTest.Result model = tandem("device-bench", "--formats", "none", "--models", "llama-3-8b");
        assertEquals(2, model.code(), model.err());
        assertTrue(model.err().contains("--models"), model.err());
        CliTest.Result shape = tandem("device-bench", "--formats", "none", "--models", "llama-9:F16");
        assertEquals(2, shape.code(), shape.err());
        assertTrue(shape.err().contains("llama-9"), shape.err());
        CliTest.Result runs = tandem("device-bench", "--runs", "0", "--models", "none");
        assertEquals(2, runs.code(), runs.err());
    }
}
