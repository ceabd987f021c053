package dev.tandem.runtime.run;

import dev.tandem.conformance.SharedData;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.cli.Main;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.Compiler;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Objective;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.compiler.Policy;
import dev.tandem.runtime.compiler.PoolParser;
import dev.tandem.runtime.compiler.Workload;
import dev.tandem.runtime.device.DeviceUnavailableException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Plans executed on present devices (the host CPU and the scalar test backend) generate what the
 * independent reference generated, whatever the policy puts where.
 */
class PlanRunTest {
    private static final int[] PROMPT = {1, 77, 300};
    private static final int STEPS = 10;

    private static int[] referenceIds() {
        return Arrays.copyOf(SharedData.ints(SharedData.reference("stories260K.bin.json").get("cases").get(2).get("greedy_ids")), STEPS);
    }

    private static PlanRun.Report run(String pool, Policy policy) {
        try (Model m = Model.load(SharedData.model("stories260K.bin"))) {
            Compiler compiler = Compiler.withInstalledProviders();
            int ctx = PROMPT.length + STEPS;
            ModelGraph graph = ModelGraph.of(m);
            Plan plan = compiler.compile(graph, PoolParser.parse(pool, new Catalog()), new Workload(1, PROMPT.length, ctx), policy,
                    Objective.lowestTpot());
            return PlanRun.execute(m, plan, graph, compiler.costModel(), PROMPT, new Sampling(0, 0, 1, 7, STEPS, false), ctx, 0, null);
        }
    }

    @ParameterizedTest(name = "{1} on {0}")
    @CsvSource({"cpu, SINGLE", "scalar-test, SINGLE", "'cpu,scalar-test', DISAGG", "'cpu,scalar-test', AUTO"})
    void everyPolicyGeneratesTheReferenceIds(String pool, Policy policy) {
        PlanRun.Report r = run(pool, policy);
        assertArrayEquals(referenceIds(), r.result().generatedIds(), "the shared reference's greedy ids");
        assertTrue(r.idsMatch(), "and the host reference's");
        assertTrue(r.verified());
        // Every layer's blocks of both phases ran and were priced.
        int layers = 5;
        long decodeAttention = r.lines().stream().filter(l -> l.phase() == Phase.DECODE && l.what().equals("attention"))
                .mapToLong(PlanRun.Line::count).sum();
        assertEquals((long) layers * (STEPS - 1), decodeAttention);
        assertTrue(r.lines().stream().allMatch(l -> l.predictedSeconds() > 0 && l.measuredSeconds() > 0), r.lines().toString());
    }

    @Test
    void aSampledRunDrawsTheSameIdsOnThePlanAndTheReference() {
        // llama.cpp's defaults plus every penalty: the plan and the reference each sample from their
        // own logits with the same seed and prompt window, so equal ids mean equal decisions.
        Sampling sampling = Sampling.defaults().repeatPenalty(1.2f, 8).presencePenalty(0.3f).frequencyPenalty(0.1f)
                .maxTokens(STEPS).stopAtEos(false);
        try (Model m = Model.load(SharedData.model("stories260K.bin"))) {
            Compiler compiler = Compiler.withInstalledProviders();
            int ctx = PROMPT.length + STEPS;
            ModelGraph graph = ModelGraph.of(m);
            Plan plan = compiler.compile(graph, PoolParser.parse("cpu,scalar-test", new Catalog()), new Workload(1, PROMPT.length, ctx),
                    Policy.DISAGG, Objective.lowestTpot());
            PlanRun.Report r = PlanRun.execute(m, plan, graph, compiler.costModel(), PROMPT, sampling, ctx, 0, null);
            assertTrue(r.idsMatch(), Arrays.toString(r.result().generatedIds()) + " vs " + Arrays.toString(r.referenceIds()));
            assertTrue(r.verified());
            int[] session;
            try (var s = dev.tandem.runtime.Tandem.open(m, ctx)) {
                session = s.generate(PROMPT, sampling, null).generatedIds();
            }
            assertArrayEquals(session, r.result().generatedIds(), "a plain session samples the same");
            assertFalse(Arrays.equals(referenceIds(), r.result().generatedIds()), "it sampled, not argmax");
        }
    }

    @Test
    void disaggMovesThePromptsKvCacheOnce() {
        PlanRun.Report r = run("cpu,scalar-test", Policy.DISAGG);
        var kv = r.lines().stream().filter(l -> l.what().equals("kv cache")).toList();
        assertEquals(1, kv.size(), r.lines().toString());
        assertEquals(1, kv.getFirst().count());
        assertTrue(kv.getFirst().track().startsWith("link "), kv.toString());
        // Prefill ran on one group, decode on the other.
        String prefillTrack = r.lines().stream().filter(l -> l.phase() == Phase.PREFILL && l.what().equals("ffn")).findFirst().orElseThrow().track();
        String decodeTrack = r.lines().stream().filter(l -> l.phase() == Phase.DECODE && l.what().equals("ffn")).findFirst().orElseThrow().track();
        assertFalse(prefillTrack.equals(decodeTrack), prefillTrack);
    }

    @Test
    void catalogGpusPlanButDoNotRun() {
        DeviceGroup h100 = new Catalog().resolve("h100", 1);
        var e = assertThrows(DeviceUnavailableException.class, () -> PlanRun.openStage(h100, 1));
        assertTrue(e.getMessage().contains("catalog"), e.getMessage());
    }

    private static String[] cli(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new String[] {Integer.toString(code), out.toString(), err.toString()};
    }

    @Test
    void runCommandPrintsThePlanTheComparisonAndTheVerdict() {
        String[] r = cli("run", "-m", SharedData.model("stories260K.bin").toString(), "--pool", "cpu", "--policy", "single",
                "--prompt-ids", "1,77,300", "-n", Integer.toString(STEPS), "--warmup", "0");
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].contains("plan     single"), r[1]);
        assertTrue(r[1].contains("predicted"), r[1]);
        assertTrue(r[1].contains("verdict  VERIFIED"), r[1]);
    }

    @Test
    void runIdsPrintsOnlyTheIdsOnStdoutAndTheReportOnStderr() {
        String[] r = cli("run", "-m", SharedData.model("stories260K.bin").toString(), "--pool", "cpu", "--policy", "single",
                "--prompt-ids", "1,77,300", "-n", Integer.toString(STEPS), "--ids", "--temp", "0", "--warmup", "0");
        assertEquals("0", r[0], r[2]);
        String stdout = r[1].strip();
        assertTrue(stdout.matches("[0-9]+( [0-9]+)*"), "stdout holds the ids alone: " + r[1]);
        assertArrayEquals(referenceIds(), Arrays.stream(stdout.split(" ")).mapToInt(Integer::parseInt).toArray());
        assertTrue(r[2].contains("plan     single"), r[2]);
        assertTrue(r[2].contains("predicted"), r[2]);
        assertTrue(r[2].contains("verdict  VERIFIED"), r[2]);
    }

    @Test
    void runJsonIsOneMachineReadableReportOnStdout() throws Exception {
        String[] r = cli("run", "-m", SharedData.model("stories260K.bin").toString(), "--pool", "cpu,scalar-test", "--policy", "disagg",
                "--prompt-ids", "1,77,300", "-n", Integer.toString(STEPS), "--json", "--temp", "0", "--warmup", "0");
        assertEquals("0", r[0], r[2]);
        var root = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r[1]);
        assertEquals("disagg", root.get("plan").get("chosen").asText());
        assertTrue(root.get("plan").get("predicted").get("tpot_ms").asDouble() > 0, r[1]);
        assertArrayEquals(referenceIds(), SharedData.ints(root.get("generated_ids")));
        assertArrayEquals(referenceIds(), SharedData.ints(root.get("reference_ids")));
        var ops = root.get("ops");
        boolean decodeFfn = false, kvMove = false;
        for (var op : ops) {
            assertTrue(op.get("predicted_ms").asDouble() > 0 && op.get("measured_ms").asDouble() > 0, op.toString());
            decodeFfn |= op.get("phase").asText().equals("decode") && op.get("op").asText().equals("ffn");
            kvMove |= op.get("op").asText().equals("kv cache") && op.get("track").asText().startsWith("link ");
        }
        assertTrue(decodeFfn && kvMove, ops.toString());
        assertTrue(root.get("verdict").get("verified").asBoolean(), r[1]);
        assertTrue(root.get("verdict").get("ids_match").asBoolean(), r[1]);
        assertTrue(r[2].contains("verdict  VERIFIED"), "the readable report goes to stderr: " + r[2]);
        String[] both = cli("run", "-m", SharedData.model("stories260K.bin").toString(), "--pool", "cpu", "--ids", "--json");
        assertEquals("2", both[0], both[2]);
        assertTrue(both[2].contains("--ids") && both[2].contains("--json"), both[2]);
    }

    @Test
    void runRefusesWhatItCannotExecute() {
        String model = SharedData.model("stories260K.bin").toString();
        String[] catalog = cli("run", "-m", model, "--pool", "h100", "--policy", "single", "-n", "2");
        assertEquals("4", catalog[0], catalog[2]);
        assertTrue(catalog[2].contains("catalog device"), catalog[2]);
        String[] twoCpus = cli("run", "-m", model, "--pool", "cpu*2", "--policy", "single", "-n", "2");
        assertEquals("2", twoCpus[0], twoCpus[2]);
        assertTrue(twoCpus[2].contains("--pool cpu*2"), twoCpus[2]);
        String[] shortContext = cli("run", "-m", model, "--pool", "cpu", "--prompt-ids", "1,2,3", "--context", "2");
        assertEquals("2", shortContext[0], shortContext[2]);
        assertTrue(shortContext[2].contains("--context 2"), shortContext[2]);
        String[] warmup = cli("run", "-m", model, "--pool", "cpu", "--warmup", "-1");
        assertEquals("2", warmup[0], warmup[2]);
        assertTrue(warmup[2].contains("--warmup"), warmup[2]);
        String[] noLpu = cli("run", "-m", model, "--pool", "cpu", "--policy", "afd", "-n", "2");
        assertEquals("2", noLpu[0], noLpu[2]);
        assertTrue(noLpu[2].contains("afd needs"), noLpu[2]);
    }
}
