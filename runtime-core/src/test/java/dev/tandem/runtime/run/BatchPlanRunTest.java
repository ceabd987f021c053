package dev.tandem.runtime.run;

import dev.tandem.conformance.SharedData;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.Compiler;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Objective;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.compiler.Policy;
import dev.tandem.runtime.compiler.PoolParser;
import dev.tandem.runtime.compiler.Workload;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Plans executed for several ragged prompts at once on present devices: every sequence generates
 * what its single-stream reference generates, under every policy these devices allow.
 */
class BatchPlanRunTest {
    static final int[][] STORIES_PROMPTS = {{1, 77, 300}, {1, 400}, {1, 5, 9, 200, 33, 41, 7, 12, 90, 3, 18, 250, 61, 2, 44, 100, 8}, {1}};
    private static final int STEPS = 9;

    static BatchPlanRun.Report run(Model m, String pool, Policy policy, int[][] prompts, int steps, boolean microBatches) {
        Compiler compiler = Compiler.withInstalledProviders();
        int longest = Arrays.stream(prompts).mapToInt(p -> p.length).max().orElseThrow();
        int ctx = longest + steps;
        ModelGraph graph = ModelGraph.of(m);
        Plan plan = compiler.compile(graph, PoolParser.parse(pool, new Catalog()), new Workload(prompts.length, longest, ctx), policy,
                Objective.lowestTpot());
        return BatchPlanRun.execute(m, plan, graph, compiler.costModel(), prompts, new Sampling(0, 0, 1, 7, steps, false), ctx, 0,
                microBatches);
    }

    @ParameterizedTest(name = "{1} on {0}, {2} prompts")
    @CsvSource({"cpu, SINGLE, 4", "scalar-test, SINGLE, 3", "'cpu,scalar-test', DISAGG, 4", "'cpu,scalar-test', AUTO, 3"})
    void everySequenceGeneratesItsReferenceIds(String pool, Policy policy, int sequences) {
        int[][] prompts = Arrays.copyOf(STORIES_PROMPTS, sequences);
        try (Model m = Model.load(SharedData.model("stories260K.bin"))) {
            BatchPlanRun.Report r = run(m, pool, policy, prompts, STEPS, true);
            // The first prompt's ids are the shared reference's too.
            assertArrayEquals(Arrays.copyOf(SharedData.ints(SharedData.reference("stories260K.bin.json").get("cases").get(2)
                    .get("greedy_ids")), STEPS), r.generated()[0]);
            for (int s = 0; s < sequences; s++) {
                assertEquals(STEPS, r.generated()[s].length, "sequence " + s);
                assertArrayEquals(r.referenceIds()[s], r.generated()[s], "sequence " + s);
            }
            if (pool.equals("cpu")) {
                assertEquals(0.0, r.maxLogitDiff(), "the logits after every prompt are the reference's bits");
            } else {
                assertTrue(r.maxLogitDiff() < 1e-4, "the scalar backend sums in its own order: " + r.maxLogitDiff());
            }
            assertTrue(r.verified(), r.lines().toString());
            // Every decode step ran every sequence as one batch of rows through each layer's blocks.
            assertEquals(STEPS - 1, r.stepRows().length);
            assertTrue(Arrays.stream(r.stepRows()).allMatch(n -> n == sequences), Arrays.toString(r.stepRows()));
            long decodeAttention = r.lines().stream().filter(l -> l.phase() == Phase.DECODE && l.what().equals("attention"))
                    .mapToLong(PlanRun.Line::count).sum();
            assertEquals(5L * (STEPS - 1), decodeAttention, r.lines().toString());
            if (policy == Policy.DISAGG) {
                long moves = r.lines().stream().filter(l -> l.what().equals("kv cache")).mapToLong(PlanRun.Line::count).sum();
                assertEquals(sequences, moves, "one KV move per sequence: " + r.lines());
            }
        }
    }

    private static String[] cli(String... args) {
        java.io.StringWriter out = new java.io.StringWriter(), err = new java.io.StringWriter();
        int code = dev.tandem.runtime.cli.Main.run(args, new java.io.PrintWriter(out, true), new java.io.PrintWriter(err, true));
        return new String[] {Integer.toString(code), out.toString(), err.toString()};
    }

    @org.junit.jupiter.api.Test
    void runBatchVerifiesEverySequenceAndPrintsTheirIds() {
        String model = SharedData.model("stories260K.bin").toString();
        String[] r = cli("run", "-m", model, "--pool", "cpu", "--policy", "single", "--prompt-ids", "1,77,300", "--prompt-ids", "1,400",
                "--batch", "3", "-n", "5", "--ids", "--warmup", "0");
        assertEquals("0", r[0], r[2]);
        String[] lines = r[1].strip().split("\n");
        assertEquals(3, lines.length, "one line of ids per sequence: " + r[1]);
        assertEquals(lines[0], lines[2], "sequence 2 repeats prompt 0");
        assertTrue(r[2].contains("seq 1    prompt 2 tokens, 5 generated, = reference"), r[2]);
        assertTrue(r[2].contains("verdict  VERIFIED"), r[2]);
        for (String bad : new String[] {"0", "-2", "100000"}) {
            String[] e = cli("run", "-m", model, "--pool", "cpu", "--batch", bad, "--prompt-ids", "1");
            assertEquals("2", e[0], bad + ": " + e[2]);
            assertTrue(e[2].contains("--batch"), e[2]);
        }
    }

    @org.junit.jupiter.api.Test
    void runBatchJsonReportsEverySequencesIdsAndVerdict() throws Exception {
        String model = SharedData.model("stories260K.bin").toString();
        String[] r = cli("run", "-m", model, "--pool", "cpu", "--policy", "single", "--prompt-ids", "1,77,300", "--prompt-ids", "1,400",
                "--batch", "3", "-n", "4", "--json", "--warmup", "0");
        assertEquals("0", r[0], r[2]);
        var root = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r[1]);
        var sequences = root.get("sequences");
        assertEquals(3, sequences.size(), r[1]);
        for (int s = 0; s < 3; s++) {
            var seq = sequences.get(s);
            assertEquals(s, seq.get("id").asInt());
            assertEquals(4, seq.get("generated_ids").size(), "sequence " + s);
            assertEquals(seq.get("reference_ids"), seq.get("generated_ids"), "sequence " + s);
            assertTrue(seq.get("ids_match").asBoolean(), "sequence " + s);
        }
        assertEquals("[1,400]", sequences.get(1).get("prompt_ids").toString());
        assertEquals(sequences.get(0).get("generated_ids"), sequences.get(2).get("generated_ids"), "sequence 2 repeats prompt 0");
        assertTrue(root.get("verdict").get("verified").asBoolean(), r[1]);
        assertEquals(0, root.get("verdict").get("differing_sequences").size());
        assertTrue(root.get("plan").has("chosen"), "the plan leads the report");
        assertTrue(root.get("ops").size() > 0);
        assertTrue(r[2].contains("verdict  VERIFIED"), "the readable report goes to stderr: " + r[2]);
    }

    @org.junit.jupiter.api.Test
    void badBatchesAndRowsAreErrorsNamingTheLimit() {
        try (Model m = Model.synthetic()) {
            ModelGraph graph = ModelGraph.of(m);
            Plan plan = Compiler.withInstalledProviders().compile(graph, PoolParser.parse("cpu", new Catalog()), new Workload(2, 4, 8),
                    Policy.SINGLE, Objective.lowestTpot());
            var none = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> new dev.tandem.runtime.exec.BatchPlanForward(
                    plan, m.config(), m.weights(), m.ropeInvFreq(), 0, 8, 64, true, PlanRun::openStage));
            assertTrue(none.getMessage().contains("at least 1 sequence"), none.getMessage());
            try (var f = new dev.tandem.runtime.exec.BatchPlanForward(plan, m.config(), m.weights(), m.ropeInvFreq(), 2, 8, 64, true,
                    PlanRun::openStage)) {
                f.prefill(0, new int[] {1, 2});
                String[] messages = {
                        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                                () -> f.decode(new int[] {0, 1, 0}, new int[] {1, 1, 1}, new int[] {2, 0, 3})).getMessage(),
                        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                                () -> f.decode(new int[] {2}, new int[] {1}, new int[] {2})).getMessage(),
                        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                                () -> f.decode(new int[] {0}, new int[] {1}, new int[] {8})).getMessage(),
                        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                                () -> f.prefill(1, new int[9])).getMessage(),
                        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                                () -> f.decode(new int[] {0}, new int[] {100000}, new int[] {2})).getMessage(),
                };
                assertTrue(messages[0].contains("1 to 2 rows"), messages[0]);
                assertTrue(messages[1].contains("sequence 2 is outside [0, 2)"), messages[1]);
                assertTrue(messages[2].contains("position 8 is outside [0, 8)"), messages[2]);
                assertTrue(messages[3].contains("1 to 8 tokens"), messages[3]);
                assertTrue(messages[4].contains("token id 100000"), messages[4]);
            }
        }
    }

    @ParameterizedTest(name = "embedded model, {0}")
    @CsvSource({"cpu, SINGLE", "'cpu,scalar-test', DISAGG"})
    void theEmbeddedModelToo(String pool, Policy policy) {
        int[][] prompts = {{1, 2, 3}, {1}, {1, 9, 8, 7, 6, 5}};
        try (Model m = Model.synthetic()) {
            BatchPlanRun.Report r = run(m, pool, policy, prompts, 6, true);
            for (int s = 0; s < prompts.length; s++) {
                assertArrayEquals(r.referenceIds()[s], r.generated()[s], "sequence " + s);
            }
            assertTrue(r.verified(), r.lines().toString());
        }
    }
}
