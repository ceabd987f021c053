package dev.tandem.runtime.run;

import dev.tandem.runtime.compiler.Assignment;
import dev.tandem.runtime.compiler.BatchShape;
import dev.tandem.runtime.compiler.CostModel;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.DeviceSource;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Op;
import dev.tandem.runtime.compiler.OpKind;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.compiler.Workload;
import dev.tandem.runtime.exec.PlanForward.Executed;
import dev.tandem.runtime.profile.KernelClass;
import dev.tandem.runtime.run.PlanRun.Line;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;

/** An executed plan's log set against the plan's cost model, op by op, summed into {@link Line}s. */
final class PlanComparison {
    private PlanComparison() {}

    /** The ops of one kind (or one kind of move) of one phase on one track: one line of the comparison. */
    private record LineKey(Phase phase, String track, String what) {}

    /** One op kind of one layer of one sequence's prefill: an op the graph prices for that whole prompt. */
    private record LayerOp(OpKind kind, int layer, int sequence) {}

    /** What a line adds up while the log is read. */
    private static final class Tally {
        int count;
        double predictedSeconds, measuredSeconds;
        long predictedCycles, measuredCycles;
        boolean countsCycles, mustBeExact;

        Line line(LineKey k) {
            return new Line(k.phase(), k.track(), k.what(), count, predictedSeconds, measuredSeconds,
                    countsCycles ? predictedCycles : -1, countsCycles ? measuredCycles : -1, mustBeExact);
        }
    }

    /** Sums the log by phase, track and op kind, each op with its prediction at the positions it ran. */
    static List<Line> lines(Plan plan, ModelGraph graph, CostModel cost, List<Executed> log, int promptLen, int context) {
        return lines(plan, graph, cost, log, new int[] {promptLen}, context);
    }

    /**
     * The same for a batch: sequence s's prompt had promptLens[s] tokens and prefilled on its own, so
     * its prefill ops are priced as one prompt of that length; a decode step's ops as the graph's op
     * for its rows, its bytes as if every row had the furthest row's positions cached (what the plan
     * assumes). Every op carries the {@link BatchShape} the executor logged (each sequence's run of
     * rows at its own positions, the KV layout), which is what an exact device cost reads.
     */
    static List<Line> lines(Plan plan, ModelGraph graph, CostModel cost, List<Executed> log, int[] promptLens, int context) {
        Assignment roles = plan.roles();
        Map<LayerOp, Op> prefillOps = new LinkedHashMap<>();
        for (int s = 0; s < promptLens.length; s++) {
            for (Op op : graph.ops(Phase.PREFILL, new Workload(1, promptLens[s], context))) {
                prefillOps.put(new LayerOp(op.kind(), op.layer(), s), op);
            }
        }
        Map<LineKey, Tally> tallies = new LinkedHashMap<>();
        for (Executed e : prefillChunksSummed(log)) {
            String what = e.isTransfer() ? e.what() : e.kind().name().toLowerCase(Locale.ROOT);
            Tally t = tallies.computeIfAbsent(new LineKey(e.phase(), e.track(), what), k -> new Tally());
            double predicted;
            DeviceGroup g;
            boolean lowered = false;
            if (e.isTransfer()) {
                g = null;
                predicted = predictTransfer(graph, e);
            } else {
                // The role's group, as the compiler priced it (a stage shared by two roles carries the first's).
                g = e.phase() == Phase.PREFILL ? roles.prefill() : e.kind() == OpKind.FFN ? roles.ffn() : roles.attention();
                Op op = e.phase() == Phase.PREFILL ? prefillOps.get(new LayerOp(e.kind(), e.layer(), e.sequence())) : decodeOp(graph, e);
                // The rows as they ran: each sequence at its own positions, in the executor's KV layout.
                op = op.withBatchShape(e.phase() == Phase.PREFILL
                        ? new BatchShape(e.batchShape().kvBlockSize(), List.of(new BatchShape.Run(e.pos0(), e.batch())))
                        : e.batchShape());
                CostModel.Cost c = cost.op(g, graph, op, plan.layoutOf(g).tensorParallel());
                predicted = c.seconds();
                lowered = !c.source().startsWith("roofline");
            }
            t.count++;
            t.predictedSeconds += predicted;
            t.measuredSeconds += e.nanos() / 1e9;
            if (e.cycles().isPresent() && g != null && g.spec().clockHz() > 0) {
                t.countsCycles = true;
                // Blocks are always lowered; the embedding and the head where a provider priced them (it leaves
                // some placements to the roofline, which cannot be exact).
                t.mustBeExact = e.kind() == OpKind.ATTENTION || e.kind() == OpKind.FFN
                        || ((e.kind() == OpKind.EMBED || e.kind() == OpKind.HEAD) && lowered);
                t.predictedCycles += Math.round(predicted * g.spec().clockHz());
                t.measuredCycles += e.cycles().getAsLong();
            }
        }
        List<Line> lines = new ArrayList<>();
        tallies.forEach((k, t) -> lines.add(t.line(k)));
        return lines;
    }

    /**
     * The decode steps' time on present (wall-clock) devices, predicted against measured, step by step
     * (a step is every op logged at one position), for {@link TimingJudgement}; null when no decode op
     * ran on a present device.
     */
    static TimingJudgement timing(Plan plan, ModelGraph graph, CostModel cost, List<Executed> log) {
        Assignment roles = plan.roles();
        Map<Integer, double[]> steps = new LinkedHashMap<>();
        java.util.Set<String> tracks = new java.util.LinkedHashSet<>();
        boolean calibrated = true;
        for (Executed e : log) {
            if (e.phase() != Phase.DECODE || e.isTransfer() || e.from().source() != DeviceSource.PRESENT) {
                continue;
            }
            DeviceGroup g = e.kind() == OpKind.FFN ? roles.ffn() : roles.attention();
            CostModel.Cost c = cost.op(g, graph, decodeOp(graph, e), plan.layoutOf(g).tensorParallel());
            calibrated &= !c.source().startsWith("roofline");
            double[] step = steps.computeIfAbsent(e.pos0(), k -> new double[2]);
            step[0] += c.seconds();
            step[1] += e.nanos() / 1e9;
            tracks.add(e.track());
        }
        List<TimingJudgement.Step> list = steps.values().stream().map(v -> new TimingJudgement.Step(v[0], v[1])).toList();
        return TimingJudgement.of(String.join(" + ", tracks), list, calibrated);
    }

    /**
     * What the split pass measured on present devices.
     *
     * @param kernels      seconds by kernel class, per decode step (by its pos0)
     * @param markers      seconds the kernel timers' own markers took, per decode step: not spent in the judged pass
     * @param fusedBlocks  the block kinds a present device ran its own way, timed whole
     */
    record SplitPass(Map<Integer, Map<KernelClass, Double>> kernels, Map<Integer, Double> markers, Set<OpKind> fusedBlocks) {}

    /**
     * The split pass's decode steps on present devices by kernel class, each the median over the
     * pass's steps: predicted from the cost model's split of each op (nothing where the roofline
     * priced it; a block the device ran its own way as one {@link KernelClass#FUSED_BLOCK}), measured
     * by the kernel timers; "between kernels" is a step's measured op time outside every kernel less
     * the timers' own markers, down to zero at most (the executor's code). A last line sets the whole
     * step's prediction against the split pass's kernels plus between kernels, step by step.
     * Empty when no decode op ran on a present device.
     */
    static List<KernelLine> kernels(Plan plan, ModelGraph graph, CostModel cost, List<Executed> log, SplitPass split) {
        Assignment roles = plan.roles();
        Map<Integer, Map<String, Double>> predicted = new LinkedHashMap<>();
        Map<Integer, Double> opSeconds = new LinkedHashMap<>();
        for (Executed e : log) {
            if (e.phase() != Phase.DECODE || e.isTransfer() || e.from().source() != DeviceSource.PRESENT) {
                continue;
            }
            DeviceGroup g = e.kind() == OpKind.FFN ? roles.ffn() : roles.attention();
            Map<String, Double> step = predicted.computeIfAbsent(e.pos0(), k -> new LinkedHashMap<>());
            boolean fused = split.fusedBlocks().contains(e.kind());
            cost.kernels(g, graph, decodeOp(graph, e), plan.layoutOf(g).tensorParallel())
                    .ifPresent(m -> m.forEach((k, v) -> step.merge(
                            fused && !k.equals(KernelClass.BETWEEN.label()) ? KernelClass.FUSED_BLOCK.label() : k, v, Double::sum)));
            opSeconds.merge(e.pos0(), e.nanos() / 1e9, Double::sum);
        }
        if (opSeconds.isEmpty()) {
            return List.of();
        }
        List<KernelLine> lines = new ArrayList<>();
        int n = opSeconds.size();
        double[] wholePredicted = new double[n], wholeMeasured = new double[n];
        for (KernelClass k : KernelClass.values()) {
            double[] p = new double[n], m = new double[n];
            int i = 0;
            for (var step : opSeconds.entrySet()) {
                Map<KernelClass, Double> timed = split.kernels().getOrDefault(step.getKey(), Map.of());
                double kernelSeconds = timed.values().stream().mapToDouble(Double::doubleValue).sum();
                // The markers' host time lands in the step only where the device waited for the host:
                // at most what the step holds outside its kernels.
                double between = Math.max(0, step.getValue() - kernelSeconds - split.markers().getOrDefault(step.getKey(), 0.0));
                p[i] = predicted.get(step.getKey()).getOrDefault(k.label(), 0.0);
                m[i] = k == KernelClass.BETWEEN ? between : timed.getOrDefault(k, 0.0);
                wholePredicted[i] += p[i];
                wholeMeasured[i] = kernelSeconds + between;
                i++;
            }
            double pm = TimingJudgement.median(p), mm = TimingJudgement.median(m);
            if (pm > 0 || mm != 0 || k == KernelClass.BETWEEN) {
                lines.add(new KernelLine(k.label(), pm, mm));
            }
        }
        lines.add(new KernelLine(KernelLine.WHOLE_STEP, TimingJudgement.median(wholePredicted), TimingJudgement.median(wholeMeasured)));
        return lines;
    }

    /**
     * Prefill ops ran in chunks; the plan predicts each op for the whole prompt, so a layer's chunks
     * become one entry (first), followed by every other entry in the order it ran.
     */
    private static List<Executed> prefillChunksSummed(List<Executed> log) {
        Map<LayerOp, Executed> merged = new LinkedHashMap<>();
        List<Executed> rows = new ArrayList<>();
        for (Executed e : log) {
            if (e.phase() == Phase.PREFILL && !e.isTransfer()) {
                merged.merge(new LayerOp(e.kind(), e.layer(), e.sequence()), e, (a, b) -> new Executed(a.phase(), a.what(), a.kind(), a.layer(),
                        a.track(), a.pos0(), a.batch() + b.batch(), a.nanos() + b.nanos(),
                        a.cycles().isPresent() && b.cycles().isPresent()
                                ? OptionalLong.of(a.cycles().getAsLong() + b.cycles().getAsLong()) : OptionalLong.empty(),
                        0, a.from(), a.to(), a.sequence(), a.batchShape()));
            } else {
                rows.add(e);
            }
        }
        rows.addAll(0, merged.values());
        return rows;
    }

    /** The decode op as the plan's graph describes it for the rows that ran (pos0 + 1 positions cached each). */
    private static Op decodeOp(ModelGraph graph, Executed e) {
        return graph.op(Phase.DECODE, e.kind(), e.layer(), new Workload(e.batch(), 1, e.pos0() + 1));
    }

    /** A move as the cost model prices it: the plan's (f16) activation or KV bytes over the link between the groups. */
    private static double predictTransfer(ModelGraph graph, Executed e) {
        // A KV move's batch is the positions it moved: one prompt's.
        long bytes = e.what().equals("kv cache") ? (long) e.batch() * graph.kvBytesPerToken() : graph.activationBytes(e.batch());
        return CostModel.transferSeconds(CostModel.link(e.from(), e.to()), bytes);
    }
}
