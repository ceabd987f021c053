package dev.tandem.device.lpu;

import dev.tandem.conformance.SharedData;
import dev.tandem.kernels.KernelConfig;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.Compiler;
import dev.tandem.runtime.compiler.CostModel;
import dev.tandem.runtime.compiler.GroupLayout;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Objective;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.compiler.Policy;
import dev.tandem.runtime.compiler.PoolParser;
import dev.tandem.runtime.compiler.Workload;
import dev.tandem.runtime.run.PlanRun;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Plans with emulated LPUs, executed: each policy generates the shared reference's ids, and every
 * attention and FFN block that ran on an emulated chip took exactly the cycles the compiler predicted.
 */
class PlanExecutionTest {
    private static final int STEPS = 8;

    /** The model's last reference case: a prompt of several tokens and its greedy continuation. */
    private static com.fasterxml.jackson.databind.JsonNode referenceCase(String model) {
        var cases = SharedData.reference(model + ".json").get("cases");
        return cases.get(cases.size() - 1);
    }

    private static int[] referenceIds(String model) {
        return Arrays.copyOf(SharedData.ints(referenceCase(model).get("greedy_ids")), STEPS);
    }

    private static PlanRun.Report run(String model, String pool, Policy policy, CostModel judgedBy) {
        int[] prompt = SharedData.ints(referenceCase(model).get("prompt_ids"));
        try (Model m = Model.load(SharedData.model(model))) {
            Compiler compiler = Compiler.withInstalledProviders();
            int ctx = prompt.length + STEPS;
            ModelGraph graph = ModelGraph.of(m);
            Plan plan = compiler.compile(graph, PoolParser.parse(pool, new Catalog()), new Workload(1, prompt.length, ctx), policy,
                    Objective.lowestTpot());
            return PlanRun.execute(m, plan, graph, judgedBy != null ? judgedBy : compiler.costModel(), prompt,
                    new Sampling(0, 0, 1, 7, STEPS, false), ctx, 0, null);
        }
    }

    @ParameterizedTest(name = "{2} on {1} ({0})")
    @CsvSource({
            "stories260K.bin, 'cpu,lp30*2', AFD",
            "stories260K-q8_0.gguf, 'cpu,groqchip1*2', AFD",
            "stories260K.bin, lp30, LPU_ONLY",
            "stories260K.bin, 'cpu,lp30', DISAGG",
            "stories260K.bin, 'cpu,lp30*2', AUTO",
            // Chip overrides reach the executor's devices and the compiler's prices alike, or the cycles would not agree.
            "stories260K.bin, 'cpu,lp30*2:clockHz=5e8,linkBitsPerSecond=1e8,sramBytes=4e8', AFD",
    })
    void everyPolicyMatchesTheReferenceAndItsEmulatedCycles(String model, String pool, Policy policy) {
        PlanRun.Report r = run(model, pool, policy, null);
        if (!(KernelConfig.integerDot() && model.contains("q8_0"))) {
            // With 8-bit activations (tandem.quantDot=int8) Q8_0 cannot follow the float64 reference's
            // near-ties (see ReferenceModelsTest); this module's float-quant-dot execution checks it.
            assertArrayEquals(referenceIds(model), r.result().generatedIds(), "the shared reference's greedy ids");
        }
        assertTrue(r.idsMatch());
        assertTrue(r.inexact().isEmpty(), "blocks off their predicted cycles: " + r.inexact());
        assertTrue(r.verified());
        long tables = embedAndHeadOnLpusAreExact(r);
        if (policy == Policy.LPU_ONLY) {
            // Prefill and decode each ran an embedding and a head on the chips.
            assertEquals(4, tables, r.lines().toString());
        }
        if (policy == Policy.AFD || policy == Policy.LPU_ONLY) {
            // Decode FFNs ran on the emulated chips, and their cycles were checked one for one.
            assertTrue(r.exactBlocks() >= 5L * (STEPS - 1), r.lines().toString());
        }
    }

    /** Every embedding and head line an emulated chip counted was priced by its programs and hit; how many. */
    private static long embedAndHeadOnLpusAreExact(PlanRun.Report r) {
        List<PlanRun.Line> tables = r.lines().stream()
                .filter(l -> l.measuredCycles() >= 0 && (l.what().equals("embed") || l.what().equals("head"))).toList();
        for (PlanRun.Line l : tables) {
            assertTrue(l.mustBeExact() && l.exact(), l.toString());
        }
        return tables.size();
    }

    @Test
    void afdExchangesActivationsEveryLayer() {
        PlanRun.Report r = run("stories260K.bin", "cpu,lp30*2", Policy.AFD, null);
        long toLpu = r.lines().stream().filter(l -> l.phase() == Phase.DECODE && l.track().startsWith("link cpu")).mapToLong(PlanRun.Line::count).sum();
        long back = r.lines().stream().filter(l -> l.phase() == Phase.DECODE && l.track().startsWith("link lp30")).mapToLong(PlanRun.Line::count).sum();
        assertEquals(5L * (STEPS - 1), toLpu, r.lines().toString());
        assertEquals(5L * (STEPS - 1), back);
    }

    /** A plan the compiler would not choose for so small a model, built by hand from one it did. */
    private static PlanRun.Report runWithLayout(String pool, Policy policy, int tensorParallel, int stages) {
        return runWithLayout(pool, policy, lpu -> new GroupLayout(lpu.group(), tensorParallel, stages, lpu.layers()));
    }

    private static PlanRun.Report runWithLayout(String pool, Policy policy, java.util.function.UnaryOperator<GroupLayout> relayout) {
        String model = "stories260K.bin";
        int[] prompt = SharedData.ints(referenceCase(model).get("prompt_ids"));
        try (Model m = Model.load(SharedData.model(model))) {
            Compiler compiler = Compiler.withInstalledProviders();
            int ctx = prompt.length + STEPS;
            ModelGraph graph = ModelGraph.of(m);
            Plan p = compiler.compile(graph, PoolParser.parse(pool, new Catalog()), new Workload(1, prompt.length, ctx), policy,
                    Objective.lowestTpot());
            java.util.Map<String, GroupLayout> layouts = new java.util.HashMap<>(p.layouts());
            GroupLayout lpu = layouts.get("lp30");
            layouts.put("lp30", relayout.apply(lpu));
            Plan forced = new Plan(p.model(), p.pool(), p.workload(), p.policy(), p.chosen(), p.assignment(), "forced layout",
                    p.predicted(), p.placement(), p.memory(), p.costSources(), p.timeline(), p.roles(), layouts);
            return PlanRun.execute(m, forced, graph, compiler.costModel(), prompt, new Sampling(0, 0, 1, 7, STEPS, false), ctx, 0, null);
        }
    }

    @ParameterizedTest(name = "{1} on {0}, lp30 tp {2} x {3} stages")
    @CsvSource({
            "'cpu,lp30*2', AFD, 2, 1",
            "'cpu,lp30*2', AFD, 1, 2",
            "lp30*2, LPU_ONLY, 2, 1",
            "lp30*4, LPU_ONLY, 2, 2",
    })
    void tensorParallelAndPipelinedLpuGroupsRunExactlyToo(String pool, Policy policy, int tp, int stages) {
        PlanRun.Report r = runWithLayout(pool, policy, tp, stages);
        assertArrayEquals(referenceIds("stories260K.bin"), r.result().generatedIds());
        assertTrue(r.inexact().isEmpty(), "blocks off their predicted cycles: " + r.inexact());
        assertTrue(r.verified());
        if (policy == Policy.LPU_ONLY) {
            assertEquals(4, embedAndHeadOnLpusAreExact(r), r.lines().toString());
        }
        assertEquals((long) tp * stages, r.devices().keySet().stream().filter(k -> k.startsWith("lp30"))
                .mapToLong(k -> k.contains("-") ? 2 : 1).sum(), r.devices().toString());
        if (stages > 1) {
            // The hidden state crosses between the stages' devices.
            assertTrue(r.lines().stream().anyMatch(l -> l.isLink() && l.track().contains("->lp30[" + tp + (tp > 1 ? "-" : "]"))),
                    r.lines().toString());
        }
    }

    /** The embedding table and the output head each on a stage of its own, beside no layer, as the compiler cuts a large vocabulary. */
    @ParameterizedTest(name = "lp30*{0}, tp {1}, embedding alone {2}, head alone {3}")
    @CsvSource({
            "3, 1, true, true",
            "4, 2, true, false",
            "4, 2, false, true",
    })
    void tableOnlyStagesRunExactly(int chips, int tp, boolean embeddingAlone, boolean headAlone) {
        int stages = chips / tp;
        PlanRun.Report r = runWithLayout("lp30*" + chips, Policy.LPU_ONLY, lpu -> new GroupLayout(lpu.group(), tp, stages, lpu.layers(),
                List.of(0), embeddingAlone, headAlone));
        assertArrayEquals(referenceIds("stories260K.bin"), r.result().generatedIds());
        assertTrue(r.inexact().isEmpty(), "blocks off their predicted cycles: " + r.inexact());
        assertTrue(r.verified());
        assertEquals(4, embedAndHeadOnLpusAreExact(r), r.lines().toString());
        assertEquals(chips, r.devices().keySet().stream().filter(k -> k.startsWith("lp30"))
                .mapToLong(k -> k.contains("-") ? 2 : 1).sum(), r.devices().toString());
        // The embedding runs on the first stage's devices and the head on the last's, each hop crossing a link.
        String first = "lp30[" + (tp > 1 ? "0-" + (tp - 1) : "0") + "]";
        String last = "lp30[" + (tp > 1 ? (chips - tp) + "-" + (chips - 1) : String.valueOf(chips - 1)) + "]";
        assertTrue(r.lines().stream().anyMatch(l -> l.what().equals("embed") && l.track().equals(first)), r.lines().toString());
        assertTrue(r.lines().stream().anyMatch(l -> l.what().equals("head") && l.track().equals(last)), r.lines().toString());
        assertTrue(r.lines().stream().anyMatch(l -> l.isLink() && l.track().startsWith("link " + first + "->")), r.lines().toString());
    }

    @Test
    void aPredictionOffTheEmulatedCyclesFailsVerification() {
        // Judged by the roofline instead of the lowered programs, the same run must not verify.
        PlanRun.Report r = run("stories260K.bin", "cpu,lp30", Policy.AFD, CostModel.roofline());
        assertTrue(r.idsMatch());
        assertFalse(r.inexact().isEmpty());
        assertFalse(r.verified());
    }
}
