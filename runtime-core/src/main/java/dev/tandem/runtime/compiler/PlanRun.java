package dev.tandem.runtime.compiler;

import dev.tandem.runtime.GenerationResult;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.Sampling;
import dev.tandem.runtime.Session;
import dev.tandem.runtime.Tandem;
import dev.tandem.runtime.Token;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceUnavailableException;
import dev.tandem.runtime.device.Devices;
import dev.tandem.runtime.exec.PlanForward;
import dev.tandem.runtime.exec.PlanForward.Executed;
import dev.tandem.runtime.exec.ReferenceForward;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Executes a compiled plan on the devices it names and verifies it (DESIGN.md §6): the generated
 * ids against the single-device reference ({@link ReferenceForward} on the host), and every op's
 * measured time against what the plan's cost model predicts for the positions that actually ran.
 * Where a device counts cycles (an emulated LPU), an attention or FFN block's prediction must equal
 * its emulated cycles exactly, and so must the embedding's and the head's where a provider (not the
 * roofline) priced them; wall-clock devices are reported side by side, not judged.
 */
public final class PlanRun {
    private PlanRun() {}

    /**
     * One line of the comparison: ops of one kind of one phase on one track.
     *
     * @param predictedCycles where the track counts cycles: the prediction in its clock, else -1
     * @param measuredCycles  emulated cycles, else -1
     */
    public record Line(String phase, String track, String what, int count, double predictedSeconds, double measuredSeconds,
                       long predictedCycles, long measuredCycles, boolean mustBeExact) {
        public boolean exact() { return predictedCycles >= 0 && predictedCycles == measuredCycles; }

        public boolean isLink() { return track.startsWith("link "); }
    }

    /**
     * @param plan           the plan that ran
     * @param devices        stage label → the device behind it
     * @param result         what the plan generated
     * @param referenceIds   what the reference generated from the same prompt and sampling
     * @param maxLogitDiff   largest |difference| of the logits after the prompt, plan vs reference
     * @param lines          predicted vs measured, by phase, track and op kind
     * @param deviceReports  each device's own summary (an emulator's utilisation)
     * @param decodeSteps    decode steps run (tokens after the first)
     */
    public record Report(Plan plan, Map<String, String> devices, GenerationResult result, int[] referenceIds,
                         double maxLogitDiff, List<Line> lines, Map<String, String> deviceReports, int decodeSteps) {

        public boolean idsMatch() { return java.util.Arrays.equals(result.generatedIds(), referenceIds); }

        /** Blocks on cycle-counting devices whose prediction is not their emulated cycles. */
        public List<Line> inexact() {
            return lines.stream().filter(l -> l.mustBeExact() && !l.exact()).toList();
        }

        public long exactBlocks() { return lines.stream().filter(l -> l.mustBeExact() && l.exact()).mapToLong(Line::count).sum(); }

        public boolean verified() { return idsMatch() && inexact().isEmpty(); }
    }

    /** Opens present backends by name and emulated presets through whichever backend has them; catalog GPUs cannot run. */
    public static Device openStage(DeviceGroup g, int tensorParallel) {
        return switch (g.source()) {
            case CATALOG -> throw new DeviceUnavailableException("'" + g.name()
                    + "' is a catalog device: it plans but cannot run here; use 'tandem compile' to plan on it");
            case EMULATED_LPU -> Devices.openPreset(g.name(), tensorParallel, g.options());
            case PRESENT -> {
                if (tensorParallel > 1) {
                    throw new DeviceUnavailableException("the plan runs " + g.name() + " " + tensorParallel
                            + "-way tensor parallel; the executor opens one " + g.name() + " device per stage");
                }
                yield Devices.open(g.name(), g.options());
            }
        };
    }

    /**
     * Runs the plan (after warmups untimed runs of the same request, so the host's JIT has compiled
     * the kernels before anything is measured), then the reference, and compares.
     */
    public static Report execute(Model model, Plan plan, ModelGraph graph, CostModel cost, int[] prompt, Sampling sampling,
                                 int context, int warmups, Consumer<Token> onToken) {
        GenerationResult result;
        Map<String, String> devices;
        Map<String, String> reports;
        List<Executed> log;
        PlanForward forward = new PlanForward(plan, model.config(), model.weights(), model.ropeInvFreq(), context,
                ReferenceForward.DEFAULT_PREFILL_CHUNK, PlanRun::openStage);
        try (Session session = Tandem.open(model, forward, plan.assignment())) {
            devices = forward.devices();
            for (int i = 0; i < warmups; i++) {
                session.generate(prompt, sampling, null);
            }
            forward.clearLog();
            result = session.generate(prompt, sampling, onToken);
            log = forward.log();
            reports = forward.reports();
        }
        GenerationResult reference;
        try (Session session = Tandem.open(model, context)) {
            reference = session.generate(prompt, sampling, null);
        }
        double diff = 0;
        for (int i = 0; i < result.promptLogits().length; i++) {
            diff = Math.max(diff, Math.abs(result.promptLogits()[i] - reference.promptLogits()[i]));
        }
        return new Report(plan, devices, result, reference.generatedIds(), diff, compare(plan, graph, cost, log, prompt.length, context),
                reports, Math.max(0, result.generatedIds().length - 1));
    }

    /** Sums the log by phase, track and op kind, each op with its prediction at the positions it ran. */
    static List<Line> compare(Plan plan, ModelGraph graph, CostModel cost, List<Executed> log, int promptLen, int context) {
        Assignment roles = plan.roles();
        Map<String, double[]> sums = new LinkedHashMap<>();     // count, predicted s, measured s, predicted cycles, measured cycles
        Map<String, boolean[]> flags = new LinkedHashMap<>();   // cycles counted, must be exact
        Map<String, Op> prefillOps = new LinkedHashMap<>();
        for (Op op : graph.ops(Phase.PREFILL, new Workload(1, promptLen, context))) {
            prefillOps.put(op.kind() + "|" + op.layer(), op);
        }
        // Prefill ops ran in chunks; the plan predicts each op for the whole prompt, so chunks are summed first.
        Map<String, Executed> merged = new LinkedHashMap<>();
        List<Executed> rows = new ArrayList<>();
        for (Executed e : log) {
            if (e.phase() == Phase.PREFILL && !e.isTransfer()) {
                merged.merge(e.kind() + "|" + e.layer(), e, (a, b) -> new Executed(a.phase(), a.what(), a.kind(), a.layer(), a.track(),
                        a.pos0(), a.batch() + b.batch(), a.nanos() + b.nanos(),
                        a.cycles().isPresent() && b.cycles().isPresent()
                                ? java.util.OptionalLong.of(a.cycles().getAsLong() + b.cycles().getAsLong()) : java.util.OptionalLong.empty(),
                        0));
            } else {
                rows.add(e);
            }
        }
        rows.addAll(0, merged.values());
        for (Executed e : rows) {
            String kindName = e.isTransfer() ? e.what() : e.kind().name().toLowerCase(java.util.Locale.ROOT);
            String key = e.phase().name().toLowerCase(java.util.Locale.ROOT) + "|" + e.track() + "|" + kindName;
            double predicted;
            DeviceGroup g;
            boolean lowered = false;
            if (e.isTransfer()) {
                g = null;
                predicted = predictTransfer(plan, graph, e, promptLen);
            } else {
                g = e.phase() == Phase.PREFILL ? roles.prefill() : e.kind() == OpKind.FFN ? roles.ffn() : roles.attention();
                Op op = e.phase() == Phase.PREFILL ? prefillOps.get(e.kind() + "|" + e.layer()) : decodeOp(graph, e);
                CostModel.Cost c = cost.op(g, graph, op, plan.layoutOf(g).tensorParallel());
                predicted = c.seconds();
                lowered = !c.source().startsWith("roofline");
            }
            double[] s = sums.computeIfAbsent(key, k -> new double[5]);
            boolean[] f = flags.computeIfAbsent(key, k -> new boolean[2]);
            s[0]++;
            s[1] += predicted;
            s[2] += e.nanos() / 1e9;
            if (e.cycles().isPresent() && g != null && g.spec().clockHz() > 0) {
                f[0] = true;
                // Blocks are always lowered; the embedding and the head where a provider priced them (it leaves
                // some placements to the roofline, which cannot be exact).
                f[1] = e.kind() == OpKind.ATTENTION || e.kind() == OpKind.FFN
                        || ((e.kind() == OpKind.EMBED || e.kind() == OpKind.HEAD) && lowered);
                s[3] += Math.round(predicted * g.spec().clockHz());
                s[4] += e.cycles().getAsLong();
            }
        }
        List<Line> lines = new ArrayList<>();
        sums.forEach((key, s) -> {
            String[] k = key.split("\\|", 3);
            boolean[] f = flags.get(key);
            lines.add(new Line(k[0], k[1], k[2], (int) s[0], s[1], s[2], f[0] ? (long) s[3] : -1, f[0] ? (long) s[4] : -1, f[1]));
        });
        return lines;
    }

    /** The decode op as the plan's graph describes it at the position it ran (batch 1, pos0 + 1 positions cached). */
    private static Op decodeOp(ModelGraph graph, Executed e) {
        for (Op op : graph.ops(Phase.DECODE, new Workload(1, 1, e.pos0() + 1))) {
            if (op.kind() == e.kind() && (op.layer() == e.layer() || op.kind() == OpKind.EMBED || op.kind() == OpKind.HEAD)) {
                return op;
            }
        }
        throw new IllegalStateException("no decode " + e.kind() + " op for layer " + e.layer());
    }

    /** A move as the cost model prices it: the plan's (f16) activation or KV bytes over the link between the groups. */
    private static double predictTransfer(Plan plan, ModelGraph graph, Executed e, int promptLen) {
        Assignment roles = plan.roles();
        if (e.what().equals("kv cache")) {
            long bytes = (long) promptLen * graph.kvBytesPerToken();
            return CostModel.transferSeconds(CostModel.link(roles.prefill(), roles.attention()), bytes);
        }
        DeviceGroup from = groupOf(plan, e.track().substring(5, e.track().indexOf("->")));
        DeviceGroup to = groupOf(plan, e.track().substring(e.track().indexOf("->") + 2));
        long bytes = (long) e.batch() * graph.config().dim() * ModelGraph.ACTIVATION_BYTES_PER_VALUE;
        return CostModel.transferSeconds(CostModel.link(from, to), bytes);
    }

    private static DeviceGroup groupOf(Plan plan, String stageLabel) {
        String name = stageLabel.substring(0, stageLabel.indexOf('['));
        Assignment r = plan.roles();
        for (DeviceGroup g : List.of(r.prefill(), r.attention(), r.ffn())) {
            if (g.name().equals(name)) {
                return g;
            }
        }
        throw new IllegalStateException("no group for stage " + stageLabel);
    }
}
