package dev.tandem.server;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.error.TandemException;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.Compiler;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Objective;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.compiler.Policy;
import dev.tandem.runtime.compiler.PolicyException;
import dev.tandem.runtime.compiler.Pool;
import dev.tandem.runtime.compiler.PoolParser;
import dev.tandem.runtime.compiler.PoolSyntaxException;
import dev.tandem.runtime.compiler.Workload;

/**
 * {@code serve --pool POOL --policy NAME}: compiles the plan for the served workload, which the
 * engine then steps on the plan's own placement ({@code Engine.open(Model, Plan, EngineConfig)}),
 * whether it keeps the model on one device or splits it (disagg, afd, LPU FFNs).
 */
final class ServePlacement {
    private ServePlacement() {}

    /** The plan compiled for maxBatch sequences of up to context positions. */
    static Plan compile(Model model, String poolText, String policyName, int maxBatch, int context) {
        Pool pool;
        try {
            pool = PoolParser.parse(poolText, new Catalog());
        } catch (PoolSyntaxException e) {
            throw new TandemException("--pool: " + e.getMessage());
        }
        Policy policy;
        try {
            policy = Policy.parse(policyName);
        } catch (PolicyException e) {
            throw new TandemException("--policy: " + e.getMessage());
        }
        Workload workload = new Workload(maxBatch, 1, context);
        return Compiler.withInstalledProviders().compile(ModelGraph.of(model), pool, workload, policy, Objective.lowestTpot());
    }
}
