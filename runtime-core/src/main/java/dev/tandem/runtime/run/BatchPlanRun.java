package dev.tandem.runtime.run;

import dev.tandem.runtime.GenerationResult;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.Session;
import dev.tandem.runtime.Tandem;
import dev.tandem.runtime.compiler.CostModel;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.exec.BatchPlanForward;
import dev.tandem.runtime.exec.PlanForward.Executed;
import dev.tandem.runtime.exec.ReferenceForward;
import dev.tandem.runtime.run.PlanRun.Line;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Executes a compiled plan for B prompts at once ({@link BatchPlanForward}) and verifies it as
 * {@link PlanRun} verifies one: every sequence's ids against its own single-stream
 * {@link ReferenceForward} run, and every block on a cycle-counting device against its predicted
 * cycles at the batch shape it ran.
 */
public final class BatchPlanRun {
    private BatchPlanRun() {}

    /**
     * @param generated      per sequence, the ids the plan generated
     * @param referenceIds   per sequence, what its single-stream reference run generated
     * @param maxLogitDiff   largest |difference| of the logits after any prompt, plan vs reference
     * @param microBatches   whether decode steps ran as two ping-ponging micro-batches
     * @param stepNanos      wall time of each decode step of the measured run
     * @param stepRows       rows (sequences) of each decode step
     */
    public record Report(Plan plan, Map<String, String> devices, int[][] prompts, int[][] generated, int[][] referenceIds,
                         double maxLogitDiff, List<Line> lines, Map<String, String> deviceReports, boolean microBatches,
                         long[] stepNanos, int[] stepRows) {

        /** Sequences whose ids differ from their reference's. */
        public List<Integer> differing() {
            return java.util.stream.IntStream.range(0, generated.length)
                    .filter(s -> !Arrays.equals(generated[s], referenceIds[s])).boxed().toList();
        }

        public boolean idsMatch() { return differing().isEmpty(); }

        public List<Line> inexact() { return lines.stream().filter(l -> l.mustBeExact() && !l.exact()).toList(); }

        public long exactBlocks() { return lines.stream().filter(l -> l.mustBeExact() && l.exact()).mapToLong(Line::count).sum(); }

        public long judgedBlocks() { return lines.stream().filter(Line::mustBeExact).mapToLong(Line::count).sum(); }

        public boolean verified() { return idsMatch() && inexact().isEmpty(); }

        /** Mean wall time of the decode steps that ran every sequence (the full batch), in seconds; NaN if none did. */
        public double fullStepSeconds() {
            long sum = 0;
            int n = 0;
            for (int i = 0; i < stepNanos.length; i++) {
                if (stepRows[i] == prompts.length) {
                    sum += stepNanos[i];
                    n++;
                }
            }
            return n == 0 ? Double.NaN : sum / 1e9 / n;
        }
    }

    /**
     * Runs the plan for prompts (after warmups untimed runs of the same batch), then each prompt's
     * reference, and compares. The KV pool holds every prompt's context positions.
     */
    public static Report execute(Model model, Plan plan, ModelGraph graph, CostModel cost, int[][] prompts, Sampling sampling,
                                 int context, int warmups, boolean microBatches) {
        if (prompts.length < 1) {
            throw new IllegalArgumentException("a batch needs at least one prompt");
        }
        BatchGeneration.Outcome outcome;
        Map<String, String> devices, reports;
        List<Executed> log;
        boolean pingPong;
        try (BatchPlanForward forward = new BatchPlanForward(plan, model.config(), model.weights(), model.ropeInvFreq(), prompts.length,
                context, ReferenceForward.DEFAULT_PREFILL_CHUNK, microBatches, PlanRun::openStage)) {
            devices = forward.devices();
            pingPong = forward.pingPongs();
            for (int i = 0; i < warmups; i++) {
                BatchGeneration.run(forward, model, prompts, sampling, null);
            }
            forward.clearLog();
            outcome = BatchGeneration.run(forward, model, prompts, sampling, null);
            log = forward.log();
            reports = forward.reports();
        }
        int[][] reference = new int[prompts.length][];
        double diff = 0;
        try (Session session = Tandem.open(model, context)) {
            for (int s = 0; s < prompts.length; s++) {
                GenerationResult r = session.generate(prompts[s], sampling, null);
                reference[s] = r.generatedIds();
                for (int i = 0; i < r.promptLogits().length; i++) {
                    diff = Math.max(diff, Math.abs(r.promptLogits()[i] - outcome.promptLogits()[s][i]));
                }
            }
        }
        int[] lens = Arrays.stream(prompts).mapToInt(p -> p.length).toArray();
        return new Report(plan, devices, prompts, outcome.generated(), reference, diff,
                PlanComparison.lines(plan, graph, cost, log, lens, context), reports, pingPong, outcome.stepNanos(), outcome.stepRows());
    }
}
