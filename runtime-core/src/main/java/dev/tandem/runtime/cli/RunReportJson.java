package dev.tandem.runtime.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.run.BatchPlanRun;
import dev.tandem.runtime.run.PlanRun;

import java.io.UncheckedIOException;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** {@code tandem run --json}: an executed plan's report as one JSON object, in compile --json's naming (snake_case). */
final class RunReportJson {
    private RunReportJson() {}

    /**
     * One line of the comparison.
     *
     * @param predictedCycles null where the track does not count cycles
     * @param exact           whether the emulated cycles equal the prediction; null where no cycles were counted
     */
    record Op(String phase, String track, String op, int runs, double predictedMs, double measuredMs, Long predictedCycles,
              Long measuredCycles, boolean mustBeExact, Boolean exact) {}

    record Verdict(boolean verified, boolean idsMatch, double maxLogitDiff, long exactOps, long opsThatMustBeExact, List<Op> inexact) {}

    /** One kernel class of the present devices' decode step (per step; predicted 0 where nothing prices it). */
    record Kernel(String kernel, double predictedUs, double measuredUs) {}

    /** The present devices' decode step against its prediction; null fields where it was not judged. */
    record Timing(String tracks, int steps, double predictedMs, double measuredMs, double ratio, double lowRatio, boolean judged, boolean within,
                  List<Kernel> kernels) {}

    record Report(String model, Map<String, String> devices, int[] promptIds, int[] generatedIds, int[] referenceIds,
                  List<Op> ops, Map<String, String> deviceReports, int decodeSteps, Timing timing, Verdict verdict) {}

    static String name(Phase phase) { return phase.name().toLowerCase(Locale.ROOT); }

    private static Op op(PlanRun.Line l) {
        boolean cycles = l.predictedCycles() >= 0;
        return new Op(name(l.phase()), l.track(), l.what(), l.count(), l.predictedSeconds() * 1e3, l.measuredSeconds() * 1e3,
                cycles ? l.predictedCycles() : null, cycles ? l.measuredCycles() : null, l.mustBeExact(), cycles ? l.exact() : null);
    }

    /**
     * One sequence of a batch: its ids and whether they equal its own single-stream reference run's.
     *
     * @param id the sequence's index in the batch (prompt id mod the prompts given)
     */
    record Sequence(int id, int[] promptIds, int[] generatedIds, int[] referenceIds, boolean idsMatch) {}

    record BatchVerdict(boolean verified, boolean idsMatch, List<Integer> differingSequences, double maxLogitDiff, long exactOps,
                        long opsThatMustBeExact, List<Op> inexact) {}

    record BatchReport(String model, Map<String, String> devices, List<Sequence> sequences, List<Op> ops,
                       Map<String, String> deviceReports, boolean microBatches, Double fullStepMs, BatchVerdict verdict) {}

    static String write(PlanRun.Report r, String model) {
        long mustBeExact = r.lines().stream().filter(PlanRun.Line::mustBeExact).mapToLong(PlanRun.Line::count).sum();
        Verdict verdict = new Verdict(r.verified(), r.idsMatch(), r.maxLogitDiff(), r.exactBlocks(), mustBeExact,
                r.inexact().stream().map(RunReportJson::op).toList());
        var t = r.timing();
        Timing timing = t == null ? null : new Timing(t.tracks(), t.steps(), t.predictedMedian() * 1e3, t.measuredMedian() * 1e3, t.ratio(), t.lowRatio(),
                t.judged(), t.within(), r.kernels().stream().map(k -> new Kernel(k.label(), k.predictedSeconds() * 1e6, k.measuredSeconds() * 1e6)).toList());
        Report report = new Report(model, r.devices(), r.result().promptIds(), r.result().generatedIds(), r.referenceIds(), ops(r.lines()),
                r.deviceReports(), r.decodeSteps(), timing, verdict);
        return json(r.plan(), report);
    }

    /** {@code tandem run --batch B --json}: every sequence's ids and verdict, then the ops and the batch's verdict. */
    static String write(BatchPlanRun.Report r, String model) {
        List<Sequence> sequences = new java.util.ArrayList<>();
        for (int s = 0; s < r.generated().length; s++) {
            sequences.add(new Sequence(s, r.prompts()[s], r.generated()[s], r.referenceIds()[s],
                    java.util.Arrays.equals(r.generated()[s], r.referenceIds()[s])));
        }
        BatchVerdict verdict = new BatchVerdict(r.verified(), r.idsMatch(), r.differing(), r.maxLogitDiff(), r.exactBlocks(),
                r.judgedBlocks(), r.inexact().stream().map(RunReportJson::op).toList());
        double step = r.fullStepSeconds();
        return json(r.plan(), new BatchReport(model, r.devices(), sequences, ops(r.lines()), r.deviceReports(), r.microBatches(),
                Double.isNaN(step) ? null : step * 1e3, verdict));
    }

    private static List<Op> ops(List<PlanRun.Line> lines) {
        return lines.stream().map(RunReportJson::op).toList();
    }

    /** The plan (without its timeline, which --trace shows), then the report's fields. */
    private static String json(Plan p, Record report) {
        ObjectMapper mapper = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.createObjectNode();
        ObjectNode plan = mapper.valueToTree(p);
        plan.remove("timeline");
        root.set("plan", plan);
        root.setAll((ObjectNode) mapper.valueToTree(report));
        try {
            return mapper.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
