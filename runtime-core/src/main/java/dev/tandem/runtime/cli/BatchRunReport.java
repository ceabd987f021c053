package dev.tandem.runtime.cli;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.run.BatchPlanRun;
import dev.tandem.runtime.run.PlanRun;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Locale;

/** The readable report of a batched {@code tandem run}: per sequence its ids' verdict, then the ops and the step time. */
final class BatchRunReport {
    private BatchRunReport() {}

    static void print(PrintWriter out, BatchPlanRun.Report r, Model m) {
        out.println();
        out.println("devices");
        r.devices().forEach((label, name) -> out.printf("  %-14s %s%n", label, name));
        out.println();
        out.printf(Locale.ROOT, "%-8s %-26s %-12s %6s %14s %14s  %s%n", "phase", "track", "op", "runs", "predicted", "measured",
                "cycles (predicted = emulated?)");
        for (PlanRun.Line l : r.lines()) {
            String cycles = l.predictedCycles() < 0 ? (l.isLink() ? "host copy; link not emulated" : "wall clock")
                    : String.format(Locale.ROOT, "%d vs %d %s", l.predictedCycles(), l.measuredCycles(),
                    l.exact() ? "exact" : l.mustBeExact() ? "MISMATCH" : "(roofline op)");
            out.printf(Locale.ROOT, "%-8s %-26s %-12s %6d %11.3f ms %11.3f ms  %s%n", RunReportJson.name(l.phase()), l.track(), l.what(),
                    l.count(), l.predictedSeconds() * 1e3, l.measuredSeconds() * 1e3, cycles);
        }
        out.println();
        double step = r.fullStepSeconds();
        out.printf(Locale.ROOT, "batch    %d sequences, decode steps %s; a full step %.3f ms measured (mean), plan's TPOT %.3f ms%n",
                r.prompts().length, r.microBatches() ? "as two ping-ponging micro-batches on two threads" : "whole",
                step * 1e3, r.plan().predicted().tpotMs());
        for (int s = 0; s < r.prompts().length; s++) {
            int[] ids = r.generated()[s];
            boolean same = Arrays.equals(ids, r.referenceIds()[s]);
            String text = m.tokenizer().map(t -> "  " + GenerateCommand.printable(t.decode(ids))).orElse("");
            out.printf(Locale.ROOT, "seq %-4d prompt %d tokens, %d generated, %s%s%n", s, r.prompts()[s].length, ids.length,
                    same ? "= reference" : "DIFFERS from reference " + Arrays.toString(r.referenceIds()[s]), text);
        }
        out.printf(Locale.ROOT, "verify   ids: %s (each against its single-stream ReferenceForward run), prompt logits max |diff| %.2e%n",
                r.idsMatch() ? "every sequence equal to its reference" : r.differing().size() + " sequences DIFFER",
                r.maxLogitDiff());
        out.printf(Locale.ROOT, "         emulated ops priced by lowered programs: %d of %d ran in exactly their predicted cycles%n",
                r.exactBlocks(), r.judgedBlocks());
        out.println("verdict  " + (r.verified() ? "VERIFIED" : "NOT VERIFIED"));
    }
}
