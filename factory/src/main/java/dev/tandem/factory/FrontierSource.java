package dev.tandem.factory;

import dev.tandem.runtime.compiler.ModelGraph;

import java.util.List;

/**
 * Where the planner gets a hardware configuration's frontier: for one model and one request shape,
 * the operating points a <em>unit of deployment</em> (the devices one replica uses) can run at, each
 * with its tokens/s per user and its tokens/s in all. The planner does everything else (whole nodes,
 * host and network power, PUE, the power budget, tiers), so a better performance model plugs in by
 * implementing this one method; {@link CompilerFrontierSource} is today's, from {@code tandem compile}.
 */
public interface FrontierSource {
    /** What the figures rest on, for reports ("tandem compile: roofline GPUs, lpu-sim cycles"). */
    String name();

    /**
     * The operating points of one configuration (typically one per batch size), in any order; empty
     * when the configuration cannot serve the model at all. Points need not be Pareto-optimal: the
     * planner's allocation never uses a dominated one.
     */
    List<OperatingPoint> frontier(ModelGraph model, Configuration configuration, RequestShape requests);
}
