package dev.tandem.runtime.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.runtime.compiler.Phase;
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

    record Report(String model, Map<String, String> devices, int[] promptIds, int[] generatedIds, int[] referenceIds,
                  List<Op> ops, Map<String, String> deviceReports, int decodeSteps, Verdict verdict) {}

    static String name(Phase phase) { return phase.name().toLowerCase(Locale.ROOT); }

    private static Op op(PlanRun.Line l) {
        boolean cycles = l.predictedCycles() >= 0;
        return new Op(name(l.phase()), l.track(), l.what(), l.count(), l.predictedSeconds() * 1e3, l.measuredSeconds() * 1e3,
                cycles ? l.predictedCycles() : null, cycles ? l.measuredCycles() : null, l.mustBeExact(), cycles ? l.exact() : null);
    }

    static String write(PlanRun.Report r, String model) {
        ObjectMapper mapper = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .enable(SerializationFeature.INDENT_OUTPUT);
        List<Op> ops = r.lines().stream().map(RunReportJson::op).toList();
        long mustBeExact = r.lines().stream().filter(PlanRun.Line::mustBeExact).mapToLong(PlanRun.Line::count).sum();
        Verdict verdict = new Verdict(r.verified(), r.idsMatch(), r.maxLogitDiff(), r.exactBlocks(), mustBeExact,
                r.inexact().stream().map(RunReportJson::op).toList());
        Report report = new Report(model, r.devices(), r.result().promptIds(), r.result().generatedIds(), r.referenceIds(), ops,
                r.deviceReports(), r.decodeSteps(), verdict);
        ObjectNode root = mapper.createObjectNode();
        ObjectNode plan = mapper.valueToTree(r.plan());
        plan.remove("timeline"); // what a trace shows (--trace); the predictions and placement stay
        root.set("plan", plan);
        root.setAll((ObjectNode) mapper.valueToTree(report));
        try {
            return mapper.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
