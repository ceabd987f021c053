package dev.tandem.loadgen;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.cli.Main;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.Devices;
import dev.tandem.runtime.engine.Engine;
import dev.tandem.runtime.engine.EngineConfig;
import dev.tandem.server.ServerOptions;
import dev.tandem.server.TandemServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Count-bounded sweeps (no timed assertions): the JSON's shape and counts, the plot files, bad flags. */
class BenchServeCommandTest {
    @TempDir
    Path dir;

    record Result(int code, String out, String err) {}

    static Result tandem(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    @Test
    void inProcessSweepOnTheEmbeddedModelWritesJsonAndPlot() throws Exception {
        Path json = dir.resolve("sweep.json");
        Path plot = dir.resolve("frontier");
        Result r = tandem("bench-serve", "--concurrency", "1,3", "-n", "6", "--warmup", "1", "--prompt-len", "4:9",
                "--output-len", "5", "--seed", "7", "--json", json.toString(), "--plot", plot.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("concurrency 3"), r.out());

        JsonNode root = new ObjectMapper().readTree(json.toFile());
        assertEquals(Set.of("target", "model", "device", "watts", "pool", "prompt_len", "output_len", "requests_per_level",
                "seed", "levels", "predicted"), fieldNames(root));
        assertEquals("engine", root.get("target").asText());
        assertEquals("cpu", root.get("pool").asText());
        assertEquals("4:9", root.get("prompt_len").asText());
        assertEquals(6, root.get("requests_per_level").asInt());
        assertTrue(root.get("watts").asDouble() > 0, "the cpu's board power gives J/token");
        JsonNode levels = root.get("levels");
        assertEquals(2, levels.size());
        int[] concurrency = {1, 3};
        for (int i = 0; i < 2; i++) {
            JsonNode l = levels.get(i);
            assertEquals(concurrency[i], l.get("concurrency").asInt());
            assertFalse(l.has("rate"), "a concurrency level has no rate");
            assertEquals(6, l.get("requests").asInt());
            assertEquals(0, l.get("failed").asInt());
            assertEquals(30, l.get("output_tokens").asLong(), "EOS does not stop a request: 6 x 5 tokens");
            for (String metric : List.of("ttft_ms", "tpot_ms")) {
                JsonNode s = l.get(metric);
                assertEquals(Set.of("p50", "p90", "p99"), fieldNames(s));
                assertTrue(s.get("p50").asDouble() > 0, metric);
                assertTrue(s.get("p50").asDouble() <= s.get("p90").asDouble() && s.get("p90").asDouble() <= s.get("p99").asDouble(), metric);
            }
            assertTrue(l.get("tokens_per_s_per_user").asDouble() > 0);
            assertTrue(l.get("tokens_per_s").asDouble() > 0);
            assertTrue(l.get("joules_per_token").asDouble() > 0);
            assertEquals(root.get("watts").asDouble() * l.get("duration_s").asDouble() / 30, l.get("joules_per_token").asDouble(), 1e-9);
        }
        JsonNode predicted = root.get("predicted");
        assertEquals(2, predicted.size(), "one prediction per concurrency level");
        assertEquals(1, predicted.get(0).get("batch").asInt());
        assertEquals(3, predicted.get(1).get("batch").asInt());
        for (JsonNode p : predicted) {
            assertTrue(p.get("tokens_per_s_per_user").asDouble() > 0, p.toString());
            assertEquals(p.get("batch").asInt() * p.get("tokens_per_s_per_user").asDouble(), p.get("tokens_per_s").asDouble(), 1e-6);
        }

        byte[] png = Files.readAllBytes(dir.resolve("frontier.png"));
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(png, 4));
        String svg = Files.readString(dir.resolve("frontier.svg"));
        assertTrue(svg.contains("<svg"), "an SVG document");
    }

    @Test
    void inProcessSweepOnAnAfdPlanStepsItsPlacement() throws Exception {
        Path json = dir.resolve("afd.json");
        Result r = tandem("bench-serve", "--pool", "cpu,lp30*2", "--policy", "afd", "--concurrency", "1,3", "-n", "4", "--warmup", "0",
                "--prompt-len", "4", "--output-len", "5", "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("engine on plan afd (prefill cpu, decode attention cpu, decode ffn lp30*2)"), r.out());
        assertTrue(r.out().contains(" 0 inexact") && !r.out().contains("emulated blocks 0 exact"), r.out());
        JsonNode root = new ObjectMapper().readTree(json.toFile());
        assertEquals("cpu,lp30*2", root.get("pool").asText());
        assertTrue(root.get("device").asText().contains(" + "), "the plan's devices: " + root.get("device"));
        for (JsonNode l : root.get("levels")) {
            assertEquals(0, l.get("failed").asInt(), l.toString());
            assertEquals(20, l.get("output_tokens").asLong(), "4 requests x 5 tokens");
        }
        assertTrue(root.get("predicted").get(1).get("tokens_per_s").asDouble() > 0, root.get("predicted").toString());
    }

    @Test
    void poissonRateSweepRunsEveryRequest() throws Exception {
        Path json = dir.resolve("rate.json");
        Result r = tandem("bench-serve", "--rate", "200", "-n", "5", "--warmup", "0", "--prompt-len", "3", "--output-len", "4",
                "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode level = new ObjectMapper().readTree(json.toFile()).get("levels").get(0);
        assertEquals(200.0, level.get("rate").asDouble());
        assertFalse(level.has("concurrency"));
        assertEquals(5, level.get("requests").asInt());
        assertEquals(20, level.get("output_tokens").asLong());
    }

    @Test
    void httpSweepAgainstTheServerOnLoopback() throws Exception {
        // With --url and no -m, bench-serve draws prompt ids from the default model's vocabulary, so the server serves it.
        try (Model m = Model.embedded(); Device d = Devices.open("cpu");
             Engine engine = Engine.open(m, d, EngineConfig.defaults(64).maxSequences(4));
             TandemServer server = TandemServer.start(engine, m, "tandem-embedded", ServerOptions.loopback())) {
            Path json = dir.resolve("http.json");
            Result r = tandem("bench-serve", "--url", "http://127.0.0.1:" + server.port(), "--concurrency", "1,2", "-n", "4",
                    "--warmup", "1", "--prompt-len", "5", "--output-len", "6", "--json", json.toString());
            assertEquals(0, r.code(), r.err());
            JsonNode root = new ObjectMapper().readTree(json.toFile());
            assertEquals("http://127.0.0.1:" + server.port(), root.get("target").asText());
            for (JsonNode l : root.get("levels")) {
                assertEquals(0, l.get("failed").asInt(), l.toString());
                assertEquals(24, l.get("output_tokens").asLong(), "4 requests x 6 tokens, counted from the stream's token_ids");
                assertTrue(l.get("ttft_ms").get("p50").asDouble() > 0);
            }
            assertTrue(r.out().contains("tandem-embedded"), r.out());
        }
    }

    @Test
    void badFlagsExitTwoWithOneLine() {
        List<String[]> cases = new ArrayList<>(List.of(
                new String[] {"bench-serve", "--concurrency", "0"},
                new String[] {"bench-serve", "--concurrency", "x"},
                new String[] {"bench-serve", "--rate", "-1"},
                new String[] {"bench-serve", "--rate", "1", "--concurrency", "2"},
                new String[] {"bench-serve", "-n", "0"},
                new String[] {"bench-serve", "--prompt-len", "9:2"},
                new String[] {"bench-serve", "--output-len", "0"},
                new String[] {"bench-serve", "--url", "ftp://example"},
                new String[] {"bench-serve", "--api-key", "k"},
                new String[] {"bench-serve", "--pool", "nosuchdevice*2"},
                new String[] {"bench-serve", "--json", dir.resolve("missing/dir/x.json").toString()},
                new String[] {"bench-serve", "--prompt-len", "500", "--output-len", "500"},
                new String[] {"bench-serve", "--no-such-flag"}));
        for (String[] args : cases) {
            Result r = tandem(args);
            String what = String.join(" ", args) + " -> " + r.err();
            assertEquals(2, r.code(), what);
            assertEquals(1, r.err().strip().lines().count(), what);
            assertTrue(r.err().startsWith("tandem: "), what);
        }
    }

    @Test
    void aServerThatIsNotThereIsOneLine() {
        Result r = tandem("bench-serve", "--url", "http://127.0.0.1:1", "-n", "1");
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }

    private static Set<String> fieldNames(JsonNode n) {
        Set<String> names = new java.util.HashSet<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
