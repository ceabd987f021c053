package dev.tandem.runtime.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.conformance.SharedData;
import dev.tandem.kernels.Parallel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import static dev.tandem.runtime.cli.CliTest.tandem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** tandem bench: the JSON fields another tool parses, the table's shape and usage errors (no timing checks). */
class BenchCommandTest {
    private static final List<String> FIELDS = List.of("model_filename", "model_type", "model_size", "model_n_params",
            "n_threads", "n_prompt", "n_gen", "test", "avg_ts", "stddev_ts", "samples_ts");

    @Test
    void jsonHasOneObjectPerTestWithExactlyTheLlamaBenchFields() throws Exception {
        Path file = SharedData.model("stories260K-q8_0.gguf");
        int before = Parallel.threads();
        CliTest.Result r;
        try {
            r = tandem("bench", "-m", file.toString(), "-p", "9", "-n", "5", "-r", "3", "-t", "1", "-w", "0", "--json");
            assertEquals(1, Parallel.threads(), "-t sets the kernels' worker count");
        } finally {
            Parallel.setThreads(before);
        }
        assertEquals(0, r.code(), r.err());
        JsonNode array = new ObjectMapper().readTree(r.out());
        assertTrue(array.isArray());
        assertEquals(2, array.size(), r.out());
        String[] names = {"pp9", "tg5"};
        for (int i = 0; i < 2; i++) {
            JsonNode o = array.get(i);
            List<String> fields = new ArrayList<>();
            for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) fields.add(it.next());
            assertEquals(FIELDS, fields);
            assertEquals("stories260K-q8_0.gguf", o.get("model_filename").asText());
            assertEquals("Q8_0", o.get("model_type").asText());
            assertEquals(Files.size(file), o.get("model_size").asLong());
            assertTrue(o.get("model_n_params").asLong() > 200_000 && o.get("model_n_params").asLong() < 400_000,
                    "stories260K has ~260K parameters: " + o.get("model_n_params"));
            assertEquals(1, o.get("n_threads").asInt());
            assertEquals(names[i], o.get("test").asText());
            assertEquals(i == 0 ? 9 : 0, o.get("n_prompt").asInt());
            assertEquals(i == 0 ? 0 : 5, o.get("n_gen").asInt());
            JsonNode samples = o.get("samples_ts");
            assertEquals(3, samples.size());
            double sum = 0;
            for (JsonNode s : samples) {
                assertTrue(s.asDouble() > 0 && Double.isFinite(s.asDouble()), "sample " + s);
                sum += s.asDouble();
            }
            assertEquals(sum / 3, o.get("avg_ts").asDouble(), 1e-9 * sum);
            assertTrue(o.get("stddev_ts").asDouble() >= 0);
        }
    }

    @Test
    void tableHasLlamaBenchsColumnsAndOneRowPerTest() {
        CliTest.Result r = tandem("bench", "-m", SharedData.model("stories260K-q4_0.gguf").toString(), "-p", "4", "-n", "0", "-r", "1", "--warmup", "0.05");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals("| model | size | params | backend | threads | test | t/s |", lines.get(0));
        assertEquals(3, lines.size(), r.out());
        assertTrue(lines.get(2).matches("\\| stories260K-q4_0\\.gguf Q4_0 \\| [0-9.]+ MiB \\| [0-9.]+ K \\| CPU .*\\| \\d+ \\| pp4 \\| [0-9.]+ ± [0-9.]+ \\|"),
                lines.get(2));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = ';', value = {
            "-r 0; -r 0: must be >= 1",
            "-t 0; -t 0: must be >= 1",
            "-p -1; -p -1: must be >= 0",
            "-n -2; -n -2: must be >= 0",
            "-p 0 -n 0; nothing to measure",
            "-p 100000; context holds only",
            "-r x; Invalid value for option '--repetitions'",
            "--bogus; Unknown option: '--bogus'",
            "-b 0; -b 0: must be in [1, 4096]",
            "-b 2,-1; -b -1: must be in [1, 4096]",
            "-b 2 -n 1; needs at least 2 generated tokens",
            "-b 2 -p 0; needs a prompt of at least 1 token",
            "-b x; Invalid value for option '--batch'",
            "-w -1; --warmup -1.0: must be in [0, 3600.0] seconds",
            "--warmup 1e9; --warmup 1.0E9: must be in [0, 3600.0] seconds",
            "-w NaN; --warmup NaN: must be in [0, 3600.0] seconds",
    })
    void badFlagsAreUsageErrorsOnOneLine(String flags, String message) {
        List<String> args = new ArrayList<>(List.of("bench", "-m", SharedData.model("stories260K-q8_0.gguf").toString()));
        args.addAll(List.of(flags.split(" ")));
        CliTest.Result r = tandem(args.toArray(String[]::new));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains(message), r.err());
        assertEquals(1, r.err().lines().filter(l -> !l.isBlank()).count(), r.err());
        assertEquals("", r.out());
    }

    @Test
    void batchJsonHasOneObjectPerBatchSizeWithBatchedBenchsFieldsAndPerUserSpeed() throws Exception {
        CliTest.Result r = tandem("bench", "-m", SharedData.model("stories260K-q8_0.gguf").toString(), "-p", "5", "-n", "4", "-r", "2",
                "-b", "1,3", "-w", "0", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode array = new ObjectMapper().readTree(r.out());
        assertEquals(2, array.size(), r.out());
        int[] batches = {1, 3};
        for (int i = 0; i < 2; i++) {
            JsonNode o = array.get(i);
            assertEquals(batches[i], o.get("pl").asInt());
            assertEquals(5, o.get("pp").asInt());
            assertEquals(4, o.get("tg").asInt());
            for (String f : List.of("t_pp", "speed_pp", "t_tg", "speed_tg", "speed_tg_per_user")) {
                assertTrue(o.get(f).asDouble() > 0 && Double.isFinite(o.get(f).asDouble()), f + " = " + o.get(f));
            }
            assertEquals(o.get("speed_tg").asDouble() / batches[i], o.get("speed_tg_per_user").asDouble(), 1e-9 * o.get("speed_tg").asDouble());
            assertEquals(2, o.get("samples_speed_tg").size());
        }
    }

    @Test
    void warmUpRunsOnceAtZeroSecondsAndUntilTheTimeHasPassedOtherwise() {
        int[] runs = {0};
        BenchCommand.warmUp(0, () -> runs[0]++);
        assertEquals(1, runs[0]);
        long t0 = System.nanoTime();
        BenchCommand.warmUp(0.02, () -> runs[0]++);
        assertTrue(System.nanoTime() - t0 >= 20_000_000L, "returned before the warm-up time had passed");
        assertTrue(runs[0] >= 2);
    }

    @Test
    void missingModelIsAUsageErrorAndAnUnreadableOneIsInvalidInput() {
        CliTest.Result missingFlag = tandem("bench");
        assertEquals(2, missingFlag.code());
        assertTrue(missingFlag.err().contains("--model"), missingFlag.err());
        CliTest.Result noFile = tandem("bench", "-m", "/nonexistent/model.gguf");
        assertEquals(3, noFile.code());
        assertTrue(noFile.err().contains("no such file"), noFile.err());
    }
}
