package dev.tandem.factory;

import org.apache.commons.math3.optim.MaxIter;
import org.apache.commons.math3.optim.PointValuePair;
import org.apache.commons.math3.optim.linear.LinearConstraint;
import org.apache.commons.math3.optim.linear.LinearConstraintSet;
import org.apache.commons.math3.optim.linear.LinearObjectiveFunction;
import org.apache.commons.math3.optim.linear.NoFeasibleSolutionException;
import org.apache.commons.math3.optim.linear.NonNegativeConstraint;
import org.apache.commons.math3.optim.linear.PivotSelectionRule;
import org.apache.commons.math3.optim.linear.Relationship;
import org.apache.commons.math3.optim.linear.SimplexSolver;
import org.apache.commons.math3.optim.nonlinear.scalar.GoalType;

import java.util.ArrayList;
import java.util.List;

/**
 * The revenue-maximising allocation of a site's power among operating points, as a linear program.
 *
 * <p>Variable y(j,t) ≥ 0 is how many units run operating point j selling its tokens in tier t; a
 * pair exists only where j's tokens/s per user meets t's floor. A unit at j yields T(j) tokens/s and
 * takes G(j) watts of GPU nodes and L(j) of LPU nodes, so revenue, power and tokens are all linear
 * in y:
 * <pre>
 *   maximise   Σ price(t)·T(j)·y(j,t)
 *   subject to Σ G(j)·y(j,t) ≤ GPU budget,  Σ L(j)·y(j,t) ≤ LPU budget,
 *              Σ_j T(j)·y(j,t) ≤ demand(t)               (tiers with a demand limit)
 *              Σ_j (G(j)+L(j))·y(j,t) ≤ split(t)·budget  (a fixed split, when asked)
 * </pre>
 * Every feasible allocation of power to operating points and tiers is a feasible y with the same
 * revenue and conversely, so the LP's optimum is the best revenue; the simplex method (Commons Math,
 * Bland's rule) finds an optimal vertex, exact up to its floating-point tolerance. A second LP then
 * maximises tokens/s among allocations within 1e-9 of that revenue, so power the revenue cannot use
 * (demand limits, split shares of a free tier) still serves tokens rather than idling. Units are
 * fractional: at a site of thousands of units, rounding each used point down to whole units loses at
 * most one unit per variable in the basis (at most 2 + 2·tiers of them).
 */
public final class Allocator {
    /** Revenue kept within this fraction of the optimum when the second LP maximises tokens. */
    static final double REVENUE_SLACK = 1e-9;

    private Allocator() {}

    /** One used (operating point, tier) pair. */
    public record Use(SitePoint point, Tier tier, double units) {
        public double watts() { return units * point.watts(); }

        public double gpuWatts() { return units * point.gpuWatts(); }

        public double lpuWatts() { return units * point.lpuWatts(); }

        public double tokensPerS() { return units * point.tokensPerS(); }

        public double dollarsPerS() { return tokensPerS() * tier.dollarsPerToken(); }
    }

    /** The optimiser's answer; uses with (near) zero units are left out. */
    public record Allocation(List<Use> uses, List<Tier> tiers) {
        public static final double SECONDS_PER_YEAR = 365.0 * 24 * 3600;

        public double dollarsPerS() { return uses.stream().mapToDouble(Use::dollarsPerS).sum(); }

        /** Revenue per year at full use, every second of the year. */
        public double revenuePerYear() { return dollarsPerS() * SECONDS_PER_YEAR; }

        public double tokensPerS() { return uses.stream().mapToDouble(Use::tokensPerS).sum(); }

        public double watts() { return uses.stream().mapToDouble(Use::watts).sum(); }

        public double tokensPerS(Tier t) { return uses.stream().filter(u -> u.tier().equals(t)).mapToDouble(Use::tokensPerS).sum(); }

        public double watts(Tier t) { return uses.stream().filter(u -> u.tier().equals(t)).mapToDouble(Use::watts).sum(); }
    }

    /**
     * The best allocation of {@code gpuWatts} of GPU-node power and {@code lpuWatts} of LPU-node
     * power (facility watts) among the points, over the tiers.
     *
     * @param split null to optimise freely, or one fraction of the whole budget per tier (summing to at most 1)
     */
    public static Allocation maximiseRevenue(List<SitePoint> points, List<Tier> tiers, double gpuWatts, double lpuWatts, double[] split) {
        if (split != null && split.length != tiers.size()) {
            throw new IllegalArgumentException("a split needs one share per tier: " + tiers.size() + ", got " + split.length);
        }
        List<int[]> pairs = new ArrayList<>(); // {point, tier}
        for (int j = 0; j < points.size(); j++) {
            for (int t = 0; t < tiers.size(); t++) {
                if (points.get(j).tokensPerSPerUser() >= tiers.get(t).minTokensPerSPerUser()) {
                    pairs.add(new int[] {j, t});
                }
            }
        }
        if (pairs.isEmpty() || gpuWatts + lpuWatts <= 0) {
            return new Allocation(List.of(), tiers);
        }
        int n = pairs.size();
        // Scaled so coefficients are O(1)-O(1e3): MW, millions of tokens/s, dollars/s.
        double[] revenue = new double[n], tokens = new double[n], gpu = new double[n], lpu = new double[n];
        for (int v = 0; v < n; v++) {
            SitePoint p = points.get(pairs.get(v)[0]);
            Tier t = tiers.get(pairs.get(v)[1]);
            revenue[v] = p.tokensPerS() * t.dollarsPerToken();
            tokens[v] = p.tokensPerS() / 1e6;
            gpu[v] = p.gpuWatts() / 1e6;
            lpu[v] = p.lpuWatts() / 1e6;
        }
        List<LinearConstraint> constraints = new ArrayList<>();
        constraints.add(new LinearConstraint(gpu, Relationship.LEQ, gpuWatts / 1e6));
        constraints.add(new LinearConstraint(lpu, Relationship.LEQ, lpuWatts / 1e6));
        for (int t = 0; t < tiers.size(); t++) {
            Double demand = tiers.get(t).demandTokensPerS();
            if (demand != null) {
                constraints.add(new LinearConstraint(restrict(tokens, pairs, t), Relationship.LEQ, demand / 1e6));
            }
            if (split != null) {
                double[] watts = new double[n];
                for (int v = 0; v < n; v++) {
                    watts[v] = pairs.get(v)[1] == t ? gpu[v] + lpu[v] : 0;
                }
                constraints.add(new LinearConstraint(watts, Relationship.LEQ, split[t] * (gpuWatts + lpuWatts) / 1e6));
            }
        }
        PointValuePair best = solve(revenue, constraints);
        List<LinearConstraint> second = new ArrayList<>(constraints);
        second.add(new LinearConstraint(revenue, Relationship.GEQ, best.getValue() * (1 - REVENUE_SLACK)));
        double[] y;
        try {
            y = solve(tokens, second).getPoint();
        } catch (NoFeasibleSolutionException e) {
            y = best.getPoint(); // the tolerance cut off the first optimum itself: keep it
        }
        List<Use> uses = new ArrayList<>();
        for (int v = 0; v < n; v++) {
            if (y[v] > 1e-9) {
                uses.add(new Use(points.get(pairs.get(v)[0]), tiers.get(pairs.get(v)[1]), y[v]));
            }
        }
        return new Allocation(List.copyOf(uses), tiers);
    }

    private static double[] restrict(double[] coefficients, List<int[]> pairs, int tier) {
        double[] out = new double[coefficients.length];
        for (int v = 0; v < out.length; v++) {
            out[v] = pairs.get(v)[1] == tier ? coefficients[v] : 0;
        }
        return out;
    }

    private static PointValuePair solve(double[] objective, List<LinearConstraint> constraints) {
        return new SimplexSolver().optimize(new MaxIter(1_000_000), new LinearObjectiveFunction(objective, 0),
                new LinearConstraintSet(constraints), GoalType.MAXIMIZE, new NonNegativeConstraint(true), PivotSelectionRule.BLAND);
    }
}
