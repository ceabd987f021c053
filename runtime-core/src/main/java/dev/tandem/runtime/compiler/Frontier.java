package dev.tandem.runtime.compiler;

import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The predicted frontier of a model on a pool for a workload: tokens/s per user against tokens/s per
 * system over batch sizes and layouts. {@link #points} is every point priced, fastest per user first;
 * {@link #pareto} keeps those no other point beats on both axes.
 *
 * @param model    model name
 * @param pool     the pool as given
 * @param policy   the policy asked for
 * @param workload ISL:OSL
 * @param weights  weight format
 * @param kvCache  KV cache format
 * @param points   every priced point
 * @param sources  where each figure the points rest on comes from
 * @param notes    groups or layouts left out, and why
 */
public record Frontier(String model, String pool, String policy, String workload, String weights,
                       @JsonProperty("kv_cache") String kvCache, List<FrontierPoint> points, List<String> sources,
                       List<String> notes) {
    public Frontier {
        points = points.stream().sorted(Comparator.comparingDouble(FrontierPoint::tokensPerSecondPerUser).reversed()
                .thenComparing(Comparator.comparingDouble(FrontierPoint::tokensPerSecondPerSystem).reversed())).toList();
        sources = List.copyOf(sources);
        notes = List.copyOf(notes);
    }

    /** The points no other point beats on both axes, fastest per user first. */
    @JsonProperty("pareto")
    public List<FrontierPoint> pareto() {
        List<FrontierPoint> out = new ArrayList<>();
        for (FrontierPoint p : points) {
            if (points.stream().noneMatch(o -> o.dominates(p)) && out.stream().noneMatch(o -> o.equals(p))) {
                out.add(p);
            }
        }
        return out;
    }

    /** The highest system throughput at or above {@code minUserTps} tokens/s per user. */
    public Optional<FrontierPoint> best(double minUserTps) {
        return points.stream().filter(p -> p.tokensPerSecondPerUser() >= minUserTps)
                .max(Comparator.comparingDouble(FrontierPoint::tokensPerSecondPerSystem));
    }
}
