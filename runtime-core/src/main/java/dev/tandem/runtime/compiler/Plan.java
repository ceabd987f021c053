package dev.tandem.runtime.compiler;

import com.fasterxml.jackson.annotation.JsonIgnore;

import java.util.List;
import java.util.Map;

/**
 * A compiled plan: where every op runs, what every device holds, when everything happens, and what
 * that predicts.
 *
 * @param model       model name
 * @param pool        the pool as given
 * @param workload    batch, prompt length and context the plan is for
 * @param policy      the policy asked for
 * @param chosen      the named policy the plan is an instance of (auto says which)
 * @param assignment  the role → group assignment, in words
 * @param reason      why this plan and not another of the policy's family
 * @param predicted   the predictions
 * @param placement   every op of both phases
 * @param memory      the memory map
 * @param costSources how op costs were obtained, per group (exact cycles or roofline)
 * @param timeline    one prefill then one decode step, every device stage and link
 * @param roles       which group runs prefill, decode attention and decode FFN (what an executor opens)
 * @param layouts     per group name, its tensor-parallel degree and pipeline stages
 */
public record Plan(String model, String pool, Workload workload, String policy, String chosen, String assignment,
                   String reason, Predictions predicted, List<Placement> placement, MemoryPlan memory,
                   List<String> costSources, List<TimelineEvent> timeline,
                   @JsonIgnore Assignment roles, @JsonIgnore Map<String, GroupLayout> layouts) {

    public Plan {
        layouts = Map.copyOf(layouts);
    }

    public Plan withReason(String policyAsked, String why) {
        return new Plan(model, pool, workload, policyAsked, chosen, assignment, why, predicted, placement, memory,
                costSources, timeline, roles, layouts);
    }

    /** The layout of the group a role runs on. */
    public GroupLayout layoutOf(DeviceGroup group) {
        return layouts.get(group.name());
    }
}
