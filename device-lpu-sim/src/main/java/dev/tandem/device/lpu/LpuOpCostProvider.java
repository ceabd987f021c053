package dev.tandem.device.lpu;

import dev.tandem.runtime.compiler.CostModel;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.DeviceSource;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Op;
import dev.tandem.runtime.compiler.OpCostProvider;
import dev.tandem.runtime.compiler.OpKind;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.model.LlamaConfig;

import java.util.Map;
import java.util.OptionalDouble;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Decode op costs for the compiler from the emulator's lowered programs, in timing-only mode.
 *
 * <p>The lowering produces whole decode steps, so a layer's cycles are measured as the difference
 * between a two-layer and a one-layer model of the same widths on the same tensor-parallel chips
 * (with a small vocabulary: the embedding and head cancel out). That difference is exact: every
 * instruction, all-gather and all-reduce of one layer at the KV position asked for. Attention and FFN
 * share one layer's program, so the layer's cycles are split between them in the ratio of their
 * rooflines; the sum per layer is exact, the split is not. The embedding and the head are left to
 * the roofline. Only batch-1 decode is lowered (the emulator runs one token per step); anything else
 * answers empty and the compiler uses the roofline.
 */
public final class LpuOpCostProvider implements OpCostProvider {
    private final Map<String, Double> layerSeconds = new ConcurrentHashMap<>();

    @Override
    public String name() { return "lpu-sim cycles per layer (attention/FFN split by roofline)"; }

    @Override
    public OptionalDouble seconds(DeviceGroup group, ModelGraph graph, Op op, int tensorParallel) {
        if (group.source() != DeviceSource.EMULATED_LPU || op.phase() != Phase.DECODE
                || (op.kind() != OpKind.ATTENTION && op.kind() != OpKind.FFN) || op.activationBytes() != 2L * graph.config().dim()) {   // one token: batch 1
            return OptionalDouble.empty();
        }
        ChipConfig chip = ChipConfig.preset(group.name());
        int kvPositions = (int) (op.kvBytesRead() / graph.kvBytesPerTokenPerLayer());
        String key = chip.name() + "|" + graph.config() + "|" + graph.format() + "|" + graph.experts() + "|" + tensorParallel + "|" + kvPositions;
        double layer = layerSeconds.computeIfAbsent(key, k -> measureLayer(chip, graph, tensorParallel, kvPositions));
        if (Double.isNaN(layer)) {
            return OptionalDouble.empty();
        }
        double attention = CostModel.roofline(group.spec(), graph, withKind(graph, op, OpKind.ATTENTION), tensorParallel);
        double ffn = CostModel.roofline(group.spec(), graph, withKind(graph, op, OpKind.FFN), tensorParallel);
        double mine = op.kind() == OpKind.ATTENTION ? attention : ffn;
        return OptionalDouble.of(layer * mine / (attention + ffn));
    }

    private static Op withKind(ModelGraph graph, Op op, OpKind kind) {
        for (Op o : graph.ops(Phase.DECODE, new dev.tandem.runtime.compiler.Workload(1, 1, Math.max(1, (int) (op.kvBytesRead() / graph.kvBytesPerTokenPerLayer()))))) {
            if (o.kind() == kind) {
                return o;
            }
        }
        throw new IllegalStateException("no " + kind + " op in " + graph.name());
    }

    /** Seconds of one layer on tp chips at KV position kvPositions-1, or NaN when the lowering cannot place it in one stage. */
    private static double measureLayer(ChipConfig chip, ModelGraph graph, int tp, int kvPositions) {
        LlamaConfig c = graph.config();
        try {
            RunStats one = time(chip, graph, layers(c, 1), tp, kvPositions);
            RunStats two = time(chip, graph, layers(c, 2), tp, kvPositions);
            return one == null || two == null ? Double.NaN : two.seconds() - one.seconds();
        } catch (LpuCapacityException | IllegalArgumentException e) {
            return Double.NaN;
        }
    }

    private static LlamaConfig layers(LlamaConfig c, int n) {
        // A vocabulary of one 320-lane vector: the embedding and head are the same in both runs.
        return new LlamaConfig(c.dim(), c.hiddenDim(), n, c.nHeads(), c.nKvHeads(), 320, Math.max(c.contextLength(), 1),
                c.rmsEps(), c.ropeTheta(), c.ropeScaling());
    }

    private static RunStats time(ChipConfig chip, ModelGraph graph, LlamaConfig c, int tp, int kvPositions) {
        ModelShape shape = graph.experts() > 1
                ? ModelShape.mixtureOfExperts(c, graph.format(), graph.experts(), graph.activeExperts())
                : ModelShape.uniform(c, graph.format());
        LlamaLayout layout = new LlamaLayout(shape, chip, tp, kvPositions);
        if (layout.stages().size() != 1) {
            return null;
        }
        StaticProgram p = LlamaLowering.decodeStep(layout, 1, kvPositions - 1);
        try (ChipArray array = new ChipArray(chip, tp)) {
            return array.run(p, ChipArray.Mode.TIMING);
        }
    }
}
