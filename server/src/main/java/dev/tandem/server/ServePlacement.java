package dev.tandem.server;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.TandemException;
import dev.tandem.runtime.compiler.Assignment;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.Compiler;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.DeviceSource;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Objective;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.compiler.Policy;
import dev.tandem.runtime.compiler.PolicyException;
import dev.tandem.runtime.compiler.Pool;
import dev.tandem.runtime.compiler.PoolParser;
import dev.tandem.runtime.compiler.PoolSyntaxException;
import dev.tandem.runtime.compiler.Workload;
import dev.tandem.runtime.device.DeviceUnavailableException;

/**
 * {@code serve --pool POOL --policy NAME}: compiles the plan for the served workload and takes the
 * one device it places the whole model on. The batching engine steps a whole model on one device,
 * so a plan that splits the model across devices (disagg, afd, LPU FFNs) cannot be served: that is
 * refused naming the placement and what is missing, never quietly served on something else.
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

    /**
     * The present device the plan runs everything on, as a --device name.
     * @throws DeviceUnavailableException when the plan splits the model or names a device that is not present
     */
    static String singleDevice(Plan plan) {
        Assignment roles = plan.roles();
        DeviceGroup g = roles.prefill();
        boolean one = Assignment.same(g, roles.attention()) && Assignment.same(g, roles.ffn());
        if (!one) {
            throw new DeviceUnavailableException("--policy " + plan.policy() + " on --pool " + plan.pool() + " places "
                    + roles + ": the serving engine runs the whole model on one device, and stepping a plan's"
                    + " split placement under continuous batching is not built yet (tandem run executes such a plan"
                    + " for one batch); serve it with a plan on one device (--policy single) or run it with tandem run");
        }
        if (g.source() != DeviceSource.PRESENT) {
            throw new DeviceUnavailableException("--policy " + plan.policy() + " on --pool " + plan.pool() + " places the model on "
                    + g + ", " + (g.source() == DeviceSource.CATALOG ? "a catalog device that plans but cannot run here"
                    : "emulated LPUs, which the serving engine cannot step (it needs a device backend; tandem run executes LPU plans)"));
        }
        if (g.count() > 1) {
            throw new DeviceUnavailableException("--pool " + plan.pool() + ": the plan shards the model over " + g
                    + "; the serving engine runs on one " + g.name() + " device");
        }
        return g.name();
    }
}
