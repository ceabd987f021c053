package dev.tandem.loadgen;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.tandem.runtime.error.TandemException;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.Compiler;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Objective;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.compiler.Policy;
import dev.tandem.runtime.compiler.Pool;
import dev.tandem.runtime.compiler.PoolParser;
import dev.tandem.runtime.compiler.PoolSyntaxException;
import dev.tandem.runtime.compiler.Predictions;
import dev.tandem.runtime.compiler.Workload;

import java.util.ArrayList;
import java.util.List;

/** The compiler's predicted frontier: what {@code tandem compile} predicts for the sweep's workload at each batch size. */
final class PredictedFrontier {
    /** One batch size's prediction (or why the compiler refused it). */
    record Point(int batch, String policy, @JsonProperty("ttft_ms") Double ttftMs, @JsonProperty("tpot_ms") Double tpotMs,
                 @JsonProperty("tokens_per_s_per_user") Double tokensPerSPerUser,
                 @JsonProperty("tokens_per_s") Double tokensPerS,
                 @JsonProperty("joules_per_token") Double joulesPerToken, String error) {}

    private PredictedFrontier() {}

    /** Parses a pool as {@code tandem compile --pool} does; a bad one is a one-line usage error. */
    static Pool pool(String text) {
        try {
            return PoolParser.parse(text, new Catalog());
        } catch (PoolSyntaxException e) {
            throw new TandemException("--pool: " + e.getMessage());
        }
    }

    /**
     * Compiles graph on pool for each batch size with prompt promptLen in a context of
     * promptLen + outputLen (TPOT at the last position, as compile reports it).
     */
    static List<Point> predict(ModelGraph graph, Pool pool, String policy, List<Integer> batches, int promptLen, int outputLen) {
        Compiler compiler = Compiler.withInstalledProviders();
        List<Point> points = new ArrayList<>();
        for (int b : batches) {
            try {
                Plan plan = plan(compiler, graph, pool, policy, b, promptLen, outputLen);
                Predictions p = plan.predicted();
                points.add(new Point(plan.workload().batch(), plan.policy(), p.ttftMs(), p.tpotMs(), p.tokensPerSPerUser(),
                        p.tokensPerS(), p.joulesPerToken(), null));
            } catch (TandemException e) {
                points.add(new Point(b, policy, null, null, null, null, null, e.getMessage()));
            }
        }
        return points;
    }

    /** What {@code tandem compile} plans for batch sequences of the sweep's mean lengths: the one compile both the prediction and an in-process engine on --pool use. */
    static Plan plan(Compiler compiler, ModelGraph graph, Pool pool, String policy, int batch, int promptLen, int outputLen) {
        return compiler.compile(graph, pool, new Workload(batch, promptLen, promptLen + outputLen), Policy.parse(policy),
                Objective.lowestTpot());
    }
}
