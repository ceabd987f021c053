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
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.compiler.Plan;
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
import java.util.List;
import java.util.Map;
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
        try (Session session = Tandem.open(model, forward, plan.assignment())) {
            devices = forward.devices();
            warmUp(session, prompt, sampling, warmups);
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
                timers.isEmpty() ? List.of() : PlanComparison.kernels(plan, graph, cost, splitLog, measuredKernels));
    }

    /**
     * A warm-up (when it runs at all) goes on after the requests asked for until a whole request ran
     * with the JIT quiet ({@link JitQuiet}), within {@link #WARMUP_LIMIT_SECONDS}: the executor's own
     * code (a block's run, the markers, an embedding row's dequantisation) is called a few hundred
     * times per request, so after one request it was still interpreted (40 us a step between the
     * embedded model's kernels), and on a loaded machine the compiler threads lag far behind.
     */
    static final double WARMUP_LIMIT_SECONDS = 30;

    /** runs requests untimed, then (when runs > 0) more until one compiles nothing or the limit passes. */
    private static void warmUp(Session session, int[] prompt, Sampling sampling, int runs) {
        long t0 = System.nanoTime();
        JitQuiet jit = new JitQuiet();
        for (int i = 0; i < runs; i++) {
            session.generate(prompt, sampling, null);
        }
        while (runs > 0 && !jit.quiet() && System.nanoTime() - t0 < WARMUP_LIMIT_SECONDS * 1e9) {
            session.generate(prompt, sampling, null);
        }
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
