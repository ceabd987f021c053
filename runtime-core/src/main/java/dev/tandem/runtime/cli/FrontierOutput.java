package dev.tandem.runtime.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.runtime.compiler.Frontier;
import dev.tandem.runtime.compiler.FrontierPoint;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** Prints a predicted frontier (`tandem compile --workload ISL:OSL [--sweep]`) as a table or JSON. */
final class FrontierOutput {
    private FrontierOutput() {}

    static void json(PrintWriter out, Frontier f, Optional<FrontierPoint> best) {
        ObjectMapper mapper = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.valueToTree(f);
        best.ifPresent(b -> root.set("best", mapper.valueToTree(b)));
        try {
            out.println(mapper.writeValueAsString(root));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every priced point with {@code all}, else the Pareto frontier; '*' marks Pareto points, '>' the best. */
    static void table(PrintWriter out, Frontier f, boolean all, Optional<FrontierPoint> best) {
        out.printf(Locale.ROOT, "model %s, pool %s, policy %s, workload %s (ISL:OSL), weights %s, kv cache %s%n", f.model(), f.pool(),
                f.policy(), f.workload(), f.weights(), f.kvCache());
        out.printf(Locale.ROOT, "continuous-batching steady state: prefill amortised over each request's output%n%n");
        out.printf(Locale.ROOT, "  %6s %7s %-9s %12s %14s %10s %10s %9s %9s  %s%n", "batch", "in-flt", "layout", "tok/s/user",
                "tok/s/system", "TTFT ms", "TPOT ms", "J/token", "kW", "bound");
        List<FrontierPoint> pareto = f.pareto();
        for (FrontierPoint p : all ? f.points() : pareto) {
            String mark = best.filter(p::equals).isPresent() ? ">" : pareto.contains(p) ? "*" : " ";
            String layout = p.tensorParallel() == 0 ? "plan" : "tp" + p.tensorParallel() + (p.stages() > 1 ? "pp" + p.stages() : "")
                    + (p.replicas() > 1 ? "x" + p.replicas() : "");
            out.printf(Locale.ROOT, "%s %6d %7d %-9s %12.1f %14.0f %10.1f %10.2f %9.3f %9.1f  %s%n", mark, p.batch(), p.concurrency(),
                    layout, p.tokensPerSecondPerUser(), p.tokensPerSecondPerSystem(), p.ttftMs(), p.tpotMs(), p.joulesPerToken(),
                    p.watts() / 1e3, p.bound());
        }
        out.printf(Locale.ROOT, "%n%s%n", all ? "* on the Pareto frontier" : "the Pareto frontier (--sweep prints every point)");
        best.ifPresent(b -> out.printf(Locale.ROOT, "> best: %.0f tokens/s at %.1f tokens/s per user (batch %d)%n",
                b.tokensPerSecondPerSystem(), b.tokensPerSecondPerUser(), b.batch()));
        out.println("sources:");
        f.sources().forEach(s -> out.println("  " + s));
        f.notes().forEach(s -> out.println("note: " + s));
    }
}
