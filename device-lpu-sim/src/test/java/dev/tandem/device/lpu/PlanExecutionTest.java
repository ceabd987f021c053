package dev.tandem.device.lpu;

import dev.tandem.conformance.SharedData;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.Sampling;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.Compiler;
import dev.tandem.runtime.compiler.CostModel;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Objective;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.compiler.PlanRun;
import dev.tandem.runtime.compiler.Policy;
import dev.tandem.runtime.compiler.PoolParser;
import dev.tandem.runtime.compiler.Workload;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

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
    })
    void everyPolicyMatchesTheReferenceAndItsEmulatedCycles(String model, String pool, Policy policy) {
        PlanRun.Report r = run(model, pool, policy, null);
        assertArrayEquals(referenceIds(model), r.result().generatedIds(), "the shared reference's greedy ids");
        assertTrue(r.idsMatch());
        assertTrue(r.inexact().isEmpty(), "blocks off their predicted cycles: " + r.inexact());
        assertTrue(r.verified());
        if (policy == Policy.AFD || policy == Policy.LPU_ONLY) {
            // Decode FFNs ran on the emulated chips, and their cycles were checked one for one.
            assertTrue(r.exactBlocks() >= 5L * (STEPS - 1), r.lines().toString());
        }
    }

    @Test
    void afdExchangesActivationsEveryLayer() {
        PlanRun.Report r = run("stories260K.bin", "cpu,lp30*2", Policy.AFD, null);
        long toLpu = r.lines().stream().filter(l -> l.phase().equals("decode") && l.track().startsWith("link cpu")).mapToLong(PlanRun.Line::count).sum();
        long back = r.lines().stream().filter(l -> l.phase().equals("decode") && l.track().startsWith("link lp30")).mapToLong(PlanRun.Line::count).sum();
        assertEquals(5L * (STEPS - 1), toLpu, r.lines().toString());
        assertEquals(5L * (STEPS - 1), back);
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
