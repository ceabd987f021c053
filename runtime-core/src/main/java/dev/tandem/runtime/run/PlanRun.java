package dev.tandem.runtime.run;

import dev.tandem.runtime.GenerationResult;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.Session;
import dev.tandem.runtime.Tandem;
import dev.tandem.runtime.Token;
import dev.tandem.runtime.compiler.CostModel;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.OpKind;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.compiler.Workload;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.exec.PlanDevices;
import dev.tandem.runtime.exec.PlanForward;
import dev.tandem.runtime.exec.PlanForward.Executed;
import dev.tandem.runtime.exec.ReferenceForward;

import dev.tandem.runtime.compiler.DeviceSource;
import dev.tandem.runtime.profile.JitQuiet;
import dev.tandem.runtime.profile.KernelClass;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Executes a compiled plan on the devices it names and verifies it (DESIGN.md §6): the generated
 * ids against the single-device reference ({@link ReferenceForward} on the host), and every op's
 * measured time against what the plan's cost model predicts for the positions that actually ran
 * ({@link PlanComparison}). Where a device counts cycles (an emulated LPU), an attention or FFN
 * block's prediction must equal its emulated cycles exactly, and so must the embedding's and the
 * head's where a provider (not the roofline) priced them. Wall-clock (present) devices are judged by
 * their decode step as a whole ({@link TimingJudgement}), since single ops of a few microseconds are
 * at the mercy of the scheduler.
 */
public final class PlanRun {
    private PlanRun() {}

    /**
     * One line of the comparison: ops of one kind of one phase on one track.
     *
     * @param what            the op kind ("attention", "ffn", "embed", "head") or the move ("activations", "kv cache")
     * @param predictedCycles where the track counts cycles: the prediction in its clock, else -1
     * @param measuredCycles  emulated cycles, else -1
     * @param mustBeExact     a lowered op on a cycle-counting device: its prediction must be its cycles
     */
    public record Line(Phase phase, String track, String what, int count, double predictedSeconds, double measuredSeconds,
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
     * @param timing         the present devices' decode steps against their prediction; null when none ran there
     * @param kernels        the present devices' decode step split by kernel class, predicted against measured
     *                       in a pass of its own; empty when none ran there or a device runs blocks of its own
     */
    public record Report(Plan plan, Map<String, String> devices, GenerationResult result, int[] referenceIds,
                         double maxLogitDiff, List<Line> lines, Map<String, String> deviceReports, int decodeSteps,
                         TimingJudgement timing, List<KernelLine> kernels) {

        public boolean idsMatch() { return java.util.Arrays.equals(result.generatedIds(), referenceIds); }

        /** Blocks on cycle-counting devices whose prediction is not their emulated cycles. */
        public List<Line> inexact() {
            return lines.stream().filter(l -> l.mustBeExact() && !l.exact()).toList();
        }

        public long exactBlocks() { return lines.stream().filter(l -> l.mustBeExact() && l.exact()).mapToLong(Line::count).sum(); }

        /** The ids equal the reference's and every emulated block ran in exactly its predicted cycles. */
        public boolean verified() { return idsMatch() && inexact().isEmpty(); }

        /**
         * {@link #verified()}, and the present devices' decode step within ±25% of its prediction
         * (when one ran there and was priced by a profile).
         */
        public boolean verifiedWithTiming() {
            return verified() && (timing == null || timing.within());
        }
    }

    /** Opens present backends by name and emulated presets through whichever backend has them ({@link PlanDevices}). */
    public static Device openStage(DeviceGroup g, int tensorParallel) {
        return PlanDevices.open(g, tensorParallel);
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
        List<Executed> log, splitLog;
        List<KernelTimer> timers = new ArrayList<>();
        PlanForward forward = new PlanForward(plan, model.config(), model.weights(), model.ropeInvFreq(), context,
                ReferenceForward.DEFAULT_PREFILL_CHUNK, (g, tp) -> timed(openStage(g, tp), g, timers));
        Map<Integer, Map<KernelClass, Double>> measuredKernels = new java.util.TreeMap<>();
        Map<Integer, Double> markerSeconds = new java.util.TreeMap<>();
        try (Session session = Tandem.open(model, forward, plan.assignment())) {
            devices = forward.devices();
            warmUp(session, prompt, sampling, warmups, judgedOnAProfile(plan, graph, cost));
            forward.clearLog();
            result = session.generate(prompt, sampling, onToken);
            log = forward.log();
            reports = forward.reports();
            // The split pass: the same request again, each decode op's kernels timed one by one.
            forward.clearLog();
            forward.listen((phase, pos0, device, starting) -> {
                if (phase == Phase.DECODE && device instanceof KernelTimer t) {
                    t.enable(starting);
                    if (!starting) {
                        Map<KernelClass, Double> step = measuredKernels.computeIfAbsent(pos0, p -> new EnumMap<>(KernelClass.class));
                        t.collect().forEach((k, seconds) -> step.merge(k, seconds, Double::sum));
                        markerSeconds.merge(pos0, t.collectMarkerSeconds(), Double::sum);
                    }
                }
            });
            session.generate(prompt, sampling, null);
            forward.listen(null);
            splitLog = forward.log();
        }
        GenerationResult reference;
        try (Session session = Tandem.open(model, context)) {
            reference = session.generate(prompt, sampling, null);
        }
        double diff = 0;
        for (int i = 0; i < result.promptLogits().length; i++) {
            diff = Math.max(diff, Math.abs(result.promptLogits()[i] - reference.promptLogits()[i]));
        }
        return new Report(plan, devices, result, reference.generatedIds(), diff,
                PlanComparison.lines(plan, graph, cost, log, prompt.length, context),
                reports, Math.max(0, result.generatedIds().length - 1), PlanComparison.timing(plan, graph, cost, log),
                timers.isEmpty() ? List.of() : PlanComparison.kernels(plan, graph, cost, splitLog,
                        new PlanComparison.SplitPass(measuredKernels, markerSeconds, fusedBlocks(timers))));
    }

    /**
     * A warm-up (when it runs at all) goes on after the requests asked for until a whole request ran
     * with the JIT quiet ({@link JitQuiet}), within {@link #WARMUP_LIMIT_SECONDS}: the executor's own
     * code (a block's run, the markers, an embedding row's dequantisation) is called a few hundred
     * times per request, so after one request it was still interpreted (40 us a step between the
     * embedded model's kernels), and on a loaded machine the compiler threads lag far behind.
     */
    static final double WARMUP_LIMIT_SECONDS = 30;
    /**
     * Decode steps a warm-up runs at least when a present device's step is judged on a profile
     * ({@link #judgedOnAProfile}) (or for {@link #MIN_WARMUP_SECONDS}, whichever comes first: a
     * large model's kernels loop long enough to reach C2 within a few steps) before it asks whether
     * the JIT is quiet. A quiet request alone is not enough on an idle machine:
     * the small Vector API ops of a tiny model (rmsnorm over 128 floats, called 9 times a step) reach
     * C2's thresholds only after thousands of calls, and between tiers the JIT is quiet. After one
     * request and a quiet one, the embedded model's rmsnorm took 12.0 us a step and silu/add 7.1 (C1
     * code, where a Vector API op allocates its vectors); after 60 requests 1.4 and 0.3, as calibrated.
     * The embedding row (one call a step, few loop iterations) needs C2's 5000 invocations: after
     * 2000 steps it was still C1 code, 6-8 us a step against 0.1. The time bound is for large models
     * (stories110M's kernels reach C2 within a few hundred steps); it is long because a fresh JVM's
     * first requests are slow: at load 11 an 8 s bound ended the embedded model's warm-up after 264 steps.
     */
    static final int MIN_WARMUP_DECODE_STEPS = 5000;
    static final double MIN_WARMUP_SECONDS = 20;

    /** runs requests untimed, then (when runs > 0) more until enough ran and one compiles nothing, or the limit passes. */
    private static void warmUp(Session session, int[] prompt, Sampling sampling, int runs, boolean steadyState) {
        long t0 = System.nanoTime();
        int steps = 0;
        for (int i = 0; i < runs; i++) {
            steps += session.generate(prompt, sampling, null).generatedIds().length;
        }
        while (runs > 0 && steadyState && steps < MIN_WARMUP_DECODE_STEPS && System.nanoTime() - t0 < MIN_WARMUP_SECONDS * 1e9) {
            steps += session.generate(prompt, sampling, null).generatedIds().length;
        }
        JitQuiet jit = new JitQuiet();
        while (runs > 0 && System.nanoTime() - t0 < WARMUP_LIMIT_SECONDS * 1e9) {
            session.generate(prompt, sampling, null);
            if (jit.quiet()) {
                break;
            }
        }
    }

    /**
     * Whether a present device's decode step will be judged against a profile: only then does the
     * warm-up run its {@link #MIN_WARMUP_DECODE_STEPS} (an emulated LPU's cycles or a roofline-priced
     * step gain nothing from them, and the CLI tests run many such plans).
     */
    static boolean judgedOnAProfile(Plan plan, ModelGraph graph, CostModel cost) {
        for (var op : graph.ops(Phase.DECODE, new Workload(1, 1, 2))) {
            DeviceGroup g = op.kind() == OpKind.FFN ? plan.roles().ffn() : plan.roles().attention();
            if ((op.kind() == OpKind.ATTENTION || op.kind() == OpKind.FFN)
                    && g.source() == DeviceSource.PRESENT
                    && !cost.op(g, graph, op, plan.layoutOf(g).tensorParallel()).source().startsWith("roofline")) {
                return true;
            }
        }
        return false;
    }

    private static Set<OpKind> fusedBlocks(List<KernelTimer> timers) {
        Set<OpKind> kinds = EnumSet.noneOf(OpKind.class);
        timers.forEach(t -> kinds.addAll(t.fusedBlocks()));
        return kinds;
    }

    /** A present device behind a kernel timer (kept in timers) where its blocks are the primitive ones. */
    private static Device timed(Device d, DeviceGroup g, List<KernelTimer> timers) {
        if (g.source() != DeviceSource.PRESENT) {
            return d;
        }
        Device w = KernelTimer.wrap(d);
        if (w instanceof KernelTimer t) {
            timers.add(t);
        }
        return w;
    }
}
