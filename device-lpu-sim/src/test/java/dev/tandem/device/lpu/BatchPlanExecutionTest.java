package dev.tandem.device.lpu;

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
import dev.tandem.runtime.run.BatchPlanRun;
import dev.tandem.runtime.run.PlanRun;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Batched plans with emulated LPUs, executed: every sequence generates its single-stream reference's
 * ids, afd gives the same ids with and without its two ping-ponging micro-batches, and every FFN
 * block on an emulated chip took exactly the cycles the compiler predicts for the rows it ran
 * (B rows without micro-batches, each half's rows with them).
 */
class BatchPlanExecutionTest {
    private static final int[][] PROMPTS = {{1, 77, 300}, {1, 400}, {1, 5, 9, 200, 33, 41, 7, 12, 90, 3, 18, 250, 61, 2, 44, 100, 8}, {1}};
    private static final int STEPS = 7;

    static BatchPlanRun.Report run(Model m, String pool, Policy policy, int[][] prompts, boolean microBatches) {
        Compiler compiler = Compiler.withInstalledProviders();
        int longest = Arrays.stream(prompts).mapToInt(p -> p.length).max().orElseThrow();
        int ctx = longest + STEPS;
        ModelGraph graph = ModelGraph.of(m);
        Plan plan = compiler.compile(graph, PoolParser.parse(pool, new Catalog()), new Workload(prompts.length, longest, ctx), policy,
                Objective.lowestTpot());
        return BatchPlanRun.execute(m, plan, graph, compiler.costModel(), prompts, new Sampling(0, 0, 1, 7, STEPS, false), ctx, 0,
                microBatches);
    }

    @ParameterizedTest(name = "afd on {0}, {1} prompts")
    @CsvSource({"stories260K.bin, 4", "stories260K.bin, 3", "stories260K-q8_0.gguf, 4", "embedded, 4"})
    void afdWithAndWithoutMicroBatchesGeneratesTheReferenceIdsAtExactCycles(String model, int sequences) {
        try (Model m = model.equals("embedded") ? Model.synthetic() : Model.load(SharedData.model(model))) {
            int vocab = m.config().vocabSize(), layers = m.config().nLayers();
            int[][] prompts = Arrays.stream(Arrays.copyOf(PROMPTS, sequences))
                    .map(p -> Arrays.stream(p).map(id -> id % vocab).toArray()).toArray(int[][]::new);
            BatchPlanRun.Report split = run(m, "cpu,lp30*2", Policy.AFD, prompts, true);
            BatchPlanRun.Report whole = run(m, "cpu,lp30*2", Policy.AFD, prompts, false);
            assertEquals("afd", split.plan().chosen());
            assertTrue(split.microBatches(), "decode attention and FFN are on different groups: the halves ping-pong");
            assertFalse(whole.microBatches());
            for (int s = 0; s < sequences; s++) {
                assertArrayEquals(split.referenceIds()[s], split.generated()[s], "sequence " + s + " with micro-batches");
                assertArrayEquals(whole.generated()[s], split.generated()[s], "sequence " + s + ": micro-batches change nothing");
            }
            for (BatchPlanRun.Report r : List.of(split, whole)) {
                assertTrue(r.verified(), r.lines().toString());
                assertTrue(r.inexact().isEmpty(), "blocks off their predicted cycles: " + r.inexact());
                // Every decode FFN ran on an emulated chip and was judged: every layer per step, one or two halves.
                long ffn = r.lines().stream().filter(l -> l.phase() == Phase.DECODE && l.what().equals("ffn") && l.mustBeExact())
                        .mapToLong(PlanRun.Line::count).sum();
                assertEquals((long) layers * (STEPS - 1) * (r.microBatches() ? 2 : 1), ffn, r.lines().toString());
                assertTrue(r.lines().stream().filter(l -> l.phase() == Phase.DECODE && l.what().equals("ffn")).allMatch(PlanRun.Line::exact));
            }
        }
    }

    /**
     * Batched plans whose attention runs on emulated LPUs (paged, every decode step one program of
     * rows at their own positions): every sequence's reference ids, and every attention and FFN
     * block on a chip, prefill and decode, in exactly its predicted cycles.
     */
    @ParameterizedTest(name = "{1} on {0}")
    @CsvSource({"lp30*2, LPU_ONLY, stories260K.bin", "cpu;lp30*2, DISAGG, stories260K.bin", "lp30*2, LPU_ONLY, embedded"})
    void lpuAttentionOfABatchRunsInItsPredictedCycles(String pool, Policy policy, String model) {
        try (Model m = model.equals("embedded") ? Model.synthetic() : Model.load(SharedData.model(model))) {
            int vocab = m.config().vocabSize(), layers = m.config().nLayers();
            int[][] prompts = Arrays.stream(PROMPTS).map(p -> Arrays.stream(p).map(id -> id % vocab).toArray()).toArray(int[][]::new);
            BatchPlanRun.Report r = run(m, pool.replace(';', ','), policy, prompts, true);
            assertTrue(r.idsMatch(), "sequences " + r.differing() + " differ from their references");
            assertTrue(r.verified(), r.lines().toString());
            long attention = r.lines().stream()
                    .filter(l -> l.phase() == Phase.DECODE && l.what().equals("attention") && l.mustBeExact() && l.exact())
                    .mapToLong(PlanRun.Line::count).sum();
            assertEquals((long) layers * (STEPS - 1), attention, "every decode step's attention judged exact: " + r.lines());
        }
    }

    /**
     * Decode FFN of several rows is priced by its program (no roofline fallback); at stories260K's
     * widths a few rows hide under the block's latency, 32 rows do not.
     */
    @ParameterizedTest(name = "{0} rows")
    @CsvSource({"1", "2", "4", "32"})
    void decodeFfnOfSeveralRowsIsPricedAtItsRows(int rows) {
        try (Model m = Model.load(SharedData.model("stories260K.bin"))) {
            ModelGraph graph = ModelGraph.of(m);
            var pool = PoolParser.parse("lp30", new Catalog());
            var lpu = pool.groups().getFirst();
            var op = graph.ops(Phase.DECODE, new Workload(rows, 1, 8)).stream()
                    .filter(o -> o.kind() == dev.tandem.runtime.compiler.OpKind.FFN).findFirst().orElseThrow();
            var seconds = new LpuOpCostProvider().seconds(lpu, graph, op, 1);
            assertTrue(seconds.isPresent(), "priced by the FFN program of " + rows + " rows");
            var one = graph.ops(Phase.DECODE, new Workload(1, 1, 8)).stream()
                    .filter(o -> o.kind() == dev.tandem.runtime.compiler.OpKind.FFN).findFirst().orElseThrow();
            double single = new LpuOpCostProvider().seconds(lpu, graph, one, 1).orElseThrow();
            assertTrue(rows == 1 ? seconds.getAsDouble() == single
                            : rows < 32 ? seconds.getAsDouble() >= single : seconds.getAsDouble() > single,
                    rows + " rows: " + seconds.getAsDouble() + " s against one row's " + single);
        }
    }
}
