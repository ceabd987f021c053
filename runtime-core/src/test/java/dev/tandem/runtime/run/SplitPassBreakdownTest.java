package dev.tandem.runtime.run;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.Compiler;
import dev.tandem.runtime.compiler.CostModel;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Objective;
import dev.tandem.runtime.compiler.Op;
import dev.tandem.runtime.compiler.OpCostProvider;
import dev.tandem.runtime.compiler.OpKind;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.compiler.Policy;
import dev.tandem.runtime.compiler.PoolParser;
import dev.tandem.runtime.compiler.Workload;
import dev.tandem.runtime.exec.PlanForward.Executed;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.profile.KernelClass;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The split pass's breakdown from a made-up log: a block the device ran its own way takes its op's
 * predicted kernels as one fused block, "between kernels" is what the ops' windows hold outside the
 * kernels and the timers' markers, and the last line is the whole step.
 */
class SplitPassBreakdownTest {
    // dim 64, hidden 192, 1 layer, 8 heads, 4 KV heads, vocab 256.
    private static final ModelGraph GRAPH = ModelGraph.dense("tiny", new LlamaConfig(64, 192, 1, 8, 4, 256, 512, 1e-5f, 10000f, null),
            WeightFormat.F32);

    /** Prices every op as 10 us of matmul, 1 us of rmsnorm and 0.5 us between kernels. */
    private static final OpCostProvider FIXED = new OpCostProvider() {
        @Override
        public String name() { return "fixed"; }

        @Override
        public OptionalDouble seconds(DeviceGroup group, ModelGraph graph, Op op, int tp) { return OptionalDouble.of(11.5e-6); }

        @Override
        public Optional<Map<String, Double>> kernelSeconds(DeviceGroup group, ModelGraph graph, Op op, int tp) {
            return Optional.of(Map.of(KernelClass.MATMUL.label(), 10e-6, KernelClass.RMSNORM.label(), 1e-6,
                    KernelClass.BETWEEN.label(), 0.5e-6));
        }
    };

    @Test
    void aFusedBlockTakesItsOpsKernelsAndBetweenKernelsLeavesTheMarkersOut() {
        Plan plan = Compiler.withInstalledProviders().compile(GRAPH, PoolParser.parse("cpu", new Catalog()), new Workload(1, 2, 8),
                Policy.SINGLE, Objective.lowestTpot());
        DeviceGroup cpu = plan.roles().attention();
        List<Executed> log = new ArrayList<>();
        // Two decode steps (positions 2 and 3) of embed, attention, FFN and head, 100 us each.
        for (int pos = 2; pos <= 3; pos++) {
            for (OpKind k : List.of(OpKind.EMBED, OpKind.ATTENTION, OpKind.FFN, OpKind.HEAD)) {
                int layer = k == OpKind.EMBED ? -1 : k == OpKind.HEAD ? 1 : 0;
                log.add(new Executed(Phase.DECODE, k.name(), k, layer, "cpu[0]", pos, 1, 100_000, OptionalLong.empty(), 0, cpu, cpu, 0, null));
            }
        }
        // Per step: 40 us of matmul, 2 us of rmsnorm, 300 us in the FFN block, 8 us of the timers' own markers.
        Map<Integer, Map<KernelClass, Double>> kernels = Map.of(
                2, Map.of(KernelClass.MATMUL, 40e-6, KernelClass.RMSNORM, 2e-6, KernelClass.FUSED_BLOCK, 300e-6),
                3, Map.of(KernelClass.MATMUL, 40e-6, KernelClass.RMSNORM, 2e-6, KernelClass.FUSED_BLOCK, 300e-6));
        PlanComparison.SplitPass split = new PlanComparison.SplitPass(kernels, Map.of(2, 8e-6, 3, 8e-6), Set.of(OpKind.FFN));
        List<KernelLine> lines = PlanComparison.kernels(plan, GRAPH, new CostModel(List.of(FIXED)), log, split);
        Map<String, KernelLine> byLabel = lines.stream().collect(Collectors.toMap(KernelLine::label, Function.identity()));

        // Embed, attention and head keep their classes (3 x 10 us of matmul); the FFN's go to the fused block.
        assertEquals(30e-6, byLabel.get("matmul").predictedSeconds(), 1e-12);
        assertEquals(3e-6, byLabel.get("rmsnorm").predictedSeconds(), 1e-12);
        assertEquals(11e-6, byLabel.get(KernelClass.FUSED_BLOCK.label()).predictedSeconds(), 1e-12);
        assertEquals(300e-6, byLabel.get(KernelClass.FUSED_BLOCK.label()).measuredSeconds(), 1e-12);
        // Between kernels stays its own, the fused op's included (4 ops x 0.5 us).
        assertEquals(2e-6, byLabel.get(KernelClass.BETWEEN.label()).predictedSeconds(), 1e-12);
        // 400 us of ops - 342 us of kernels - 8 us of markers.
        assertEquals(50e-6, byLabel.get(KernelClass.BETWEEN.label()).measuredSeconds(), 1e-12);
        KernelLine whole = lines.getLast();
        assertEquals(KernelLine.WHOLE_STEP, whole.label());
        assertEquals(4 * 11.5e-6, whole.predictedSeconds(), 1e-12);
        assertEquals(392e-6, whole.measuredSeconds(), 1e-12);
        double classes = lines.stream().filter(l -> l != whole).mapToDouble(KernelLine::measuredSeconds).sum();
        assertEquals(whole.measuredSeconds(), classes, 1e-12, "the classes add up to the step without the markers");
        assertFalse(byLabel.containsKey(KernelClass.ATTENTION.label()), "a class nothing predicted or measured has no line");

        // An asynchronous device: the markers' host time (80 us) overlapped its kernels, so between kernels is
        // not pushed below zero, and the step is its kernels.
        PlanComparison.SplitPass overlapped = new PlanComparison.SplitPass(kernels, Map.of(2, 80e-6, 3, 80e-6), Set.of(OpKind.FFN));
        List<KernelLine> async = PlanComparison.kernels(plan, GRAPH, new CostModel(List.of(FIXED)), log, overlapped);
        assertEquals(0.0, async.stream().filter(l -> l.label().equals(KernelClass.BETWEEN.label())).findFirst().orElseThrow().measuredSeconds());
        assertEquals(342e-6, async.getLast().measuredSeconds(), 1e-12);
    }

    @Test
    void onlyAStepJudgedOnAProfileGetsTheLongWarmUp() {
        Plan cpu = Compiler.withInstalledProviders().compile(GRAPH, PoolParser.parse("cpu", new Catalog()), new Workload(1, 2, 8),
                Policy.SINGLE, Objective.lowestTpot());
        assertTrue(PlanRun.judgedOnAProfile(cpu, GRAPH, new CostModel(List.of(FIXED))));
        assertFalse(PlanRun.judgedOnAProfile(cpu, GRAPH, CostModel.roofline()), "priced by the roofline: not judged");
        Plan lpus = Compiler.withInstalledProviders().compile(GRAPH, PoolParser.parse("lp30*2", new Catalog()), new Workload(1, 2, 8),
                Policy.LPU_ONLY, Objective.lowestTpot());
        assertFalse(PlanRun.judgedOnAProfile(lpus, GRAPH, new CostModel(List.of(FIXED))), "no present device");
    }
}
