package dev.tandem.runtime.profile;

import dev.tandem.conformance.SharedData;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.Compiler;
import dev.tandem.runtime.compiler.CostModel;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.DeviceSource;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Objective;
import dev.tandem.runtime.compiler.Op;
import dev.tandem.runtime.compiler.OpKind;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.compiler.Policy;
import dev.tandem.runtime.compiler.PoolParser;
import dev.tandem.runtime.compiler.Workload;
import dev.tandem.runtime.device.DeviceKind;
import dev.tandem.runtime.device.DeviceSpec;
import dev.tandem.runtime.run.KernelLine;
import dev.tandem.runtime.run.PlanRun;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A decode step split by kernel class: predicted from a synthetic profile, measured in a run's split pass. */
class KernelBreakdownTest {
    @TempDir
    Path dir;

    private ProfileStore store() {
        ProfileStore s = new ProfileStore(dir, SyntheticProfiles.machine());
        s.save(SyntheticProfiles.profile("cpu", SyntheticProfiles.machine(), 32L << 20, List.of(WeightFormat.F32)));
        return s;
    }

    @Test
    void anOpsKernelClassesSumToItsSecondsAndNameWhatRuns() {
        ProfileStore store = store();
        ProfileModel p = store.model("cpu").orElseThrow();
        ModelGraph graph = ModelGraph.dense("tiny", new dev.tandem.runtime.model.LlamaConfig(64, 192, 2, 8, 4, 256, 512, 1e-5f, 10000f, null),
                WeightFormat.F32);
        DeviceGroup cpu = new DeviceGroup("cpu", 1, new DeviceSpec("cpu", DeviceKind.CPU, 1L << 30, 1e10, Map.of(), 10, 1e-6, Map.of()),
                DeviceSource.PRESENT, 1);
        ProfiledCosts costs = new ProfiledCosts(store);
        for (Phase phase : Phase.values()) {
            for (Op op : graph.ops(phase, new Workload(2, 100, 120))) {
                Map<String, Double> k = costs.kernelSeconds(cpu, graph, op, 1).orElseThrow();
                double sum = k.values().stream().mapToDouble(Double::doubleValue).sum();
                assertEquals(costs.seconds(cpu, graph, op, 1).orElseThrow(), sum, 1e-15 + 1e-12 * sum, op.toString());
                assertTrue(k.values().stream().allMatch(v -> v > 0), k.toString());
            }
        }
        Op attention = graph.ops(Phase.DECODE, new Workload(1, 1, 100)).stream().filter(o -> o.kind() == OpKind.ATTENTION).findFirst().orElseThrow();
        Map<String, Double> k = costs.kernelSeconds(cpu, graph, attention, 1).orElseThrow();
        assertEquals(p.attention(99, 1, 8, 8), k.get(KernelClass.ATTENTION.label()), 1e-18, "the score/softmax/sum kernel alone");
        assertEquals(2 * p.elementwise(OpKinds.COPY, 32), k.get(KernelClass.COPY.label()), 1e-18, "the two cache writes");
        assertEquals(java.util.Set.of("matmul", "attention", "rmsnorm", "rope", "silu/add", "copy", "between kernels"), k.keySet());
        Op head = graph.ops(Phase.DECODE, new Workload(1, 1, 100)).stream().filter(o -> o.kind() == OpKind.HEAD).findFirst().orElseThrow();
        assertEquals(p.elementwise(OpKinds.READ, 256), costs.kernelSeconds(cpu, graph, head, 1).orElseThrow().get(KernelClass.HOST_COPY.label()),
                1e-18, "the logits' read to the host is a host copy of its own");
        // The roofline splits nothing, and says so by answering empty.
        assertTrue(CostModel.roofline().kernels(cpu, graph, attention, 1).isEmpty());
    }

    @Test
    void aRunsSplitPassMeasuresEveryClassTheStepRunsAndItsPredictionsSumToTheStepsPrediction() {
        int[] prompt = {1, 77, 300};
        int steps = 8, ctx = prompt.length + steps;
        CostModel cost = new CostModel(List.of(new ProfiledCosts(store())));
        try (Model m = Model.load(SharedData.model("stories260K.bin"))) {
            ModelGraph graph = ModelGraph.of(m);
            Plan plan = Compiler.withInstalledProviders().compile(graph, PoolParser.parse("cpu", new Catalog()),
                    new Workload(1, prompt.length, ctx), Policy.SINGLE, Objective.lowestTpot());
            PlanRun.Report r = PlanRun.execute(m, plan, graph, cost, prompt, new Sampling(0, 0, 1, 7, steps, false), ctx, 0, null);
            assertTrue(r.verified());
            assertTrue(r.timing().judged(), r.timing().describe());
            Map<String, KernelLine> byLabel = r.kernels().stream().collect(Collectors.toMap(KernelLine::label, Function.identity()));
            assertEquals(KernelLine.WHOLE_STEP, r.kernels().getLast().label(), "the last line is the step the classes add up to");
            for (KernelClass k : KernelClass.values()) {
                KernelLine line = byLabel.get(k.label());
                assertTrue(line != null, "no line for " + k.label() + ": " + r.kernels());
                if (k != KernelClass.BETWEEN) {
                    assertTrue(line.predictedSeconds() > 0 && line.measuredSeconds() > 0, line.toString());
                }
            }
            // The executor's own time is priced: a dispatch per kernel call and a marker per op. A stories260K step
            // (5 layers) calls 1 embed + 5 x (11 attention + 6 FFN kernels) + 4 head kernels in 12 ops.
            assertEquals(90 * SyntheticProfiles.DISPATCH + 12 * SyntheticProfiles.MARKER,
                    byLabel.get(KernelClass.BETWEEN.label()).predictedSeconds(), 1e-15);
            // The cpu runs its FFN its own way (W1 and W3 in one pass): timed whole, not left between kernels.
            assertTrue(byLabel.get(KernelClass.FUSED_BLOCK.label()).measuredSeconds() > 0);
            // The split pass decoded the positions the judged run did, and every class's prediction grows with the
            // position or stays, so the classes' medians add up to the judged median step's prediction.
            double split = r.kernels().stream().filter(l -> !l.label().equals(KernelLine.WHOLE_STEP)).mapToDouble(KernelLine::predictedSeconds).sum();
            assertEquals(r.timing().predictedMedian(), byLabel.get(KernelLine.WHOLE_STEP).predictedSeconds(), 1e-9 * split);
            assertEquals(r.timing().predictedMedian(), split, 1e-9 * split);
        }
    }
}
