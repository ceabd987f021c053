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
 *   subject to Σ G(j)·y(j,t) ≤ GPU budget,  Σ L(j)·y(j,t) ≤ LPU budget,  Σ (G(j)+L(j))·y(j,t) ≤ site power,
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

    /** The second LP's answer replaces the first only when it serves this fraction more tokens. */
    static final double TOKEN_GAIN = 1e-6;

    private Allocator() {}

    private static double dot(double[] a, double[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            sum += a[i] * b[i];
        }
        return sum;
    }

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
        return maximiseRevenue(points, tiers, gpuWatts, lpuWatts, gpuWatts + lpuWatts, split);
    }

    /**
     * As above with a cap on the two sides together as well: with both side budgets at the site's
     * power and {@code totalWatts} the site's power, the LP chooses the LPU share itself, and the
     * LPU watts it uses are the revenue-maximising share, exactly rather than on a grid.
     */
    public static Allocation maximiseRevenue(List<SitePoint> points, List<Tier> tiers, double gpuWatts, double lpuWatts,
                                             double totalWatts, double[] split) {
        return solve(points, tiers, gpuWatts, lpuWatts, totalWatts, split, false);
    }

    /**
     * The best revenue with as little LPU power as reaches it: the second LP minimises LPU watts
     * instead of maximising tokens. With the share left to the LP, its LPU watts are then the smallest
     * revenue-maximising share (several shares often earn the same once every demand is met).
     */
    public static Allocation maximiseRevenueWithFewestLpus(List<SitePoint> points, List<Tier> tiers, double watts, double[] split) {
        return solve(points, tiers, watts, watts, watts, split, true);
    }

    private static Allocation solve(List<SitePoint> points, List<Tier> tiers, double gpuWatts, double lpuWatts,
                                    double totalWatts, double[] split, boolean fewestLpus) {
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
        if (pairs.isEmpty() || gpuWatts + lpuWatts <= 0 || totalWatts <= 0) {
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
        double[] both = new double[n];
        for (int v = 0; v < n; v++) {
            both[v] = gpu[v] + lpu[v];
        }
        constraints.add(new LinearConstraint(both, Relationship.LEQ, totalWatts / 1e6));
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
                constraints.add(new LinearConstraint(watts, Relationship.LEQ, split[t] * totalWatts / 1e6));
            }
        }
        PointValuePair best = solve(revenue, constraints);
        List<LinearConstraint> second = new ArrayList<>(constraints);
        second.add(new LinearConstraint(revenue, Relationship.GEQ, best.getValue() * (1 - REVENUE_SLACK)));
        double[] y = best.getPoint();
        if (fewestLpus) {
            double[] negativeLpu = new double[n];
            for (int v = 0; v < n; v++) {
                negativeLpu[v] = -lpu[v];
            }
            try {
                y = solve(negativeLpu, second).getPoint();
            } catch (NoFeasibleSolutionException e) {
                // the tolerance cut off the first optimum itself: keep it
            }
            return allocation(points, tiers, pairs, y);
        }
        try {
            double[] more = solve(tokens, second).getPoint();
            // Only a real gain: a token-for-revenue trade inside the slack would show as a sliver of another tier.
            if (dot(tokens, more) > dot(tokens, y) * (1 + TOKEN_GAIN)) {
                y = more;
            }
        } catch (NoFeasibleSolutionException e) {
            // the tolerance cut off the first optimum itself: keep it
        }
        return allocation(points, tiers, pairs, y);
    }

    private static Allocation allocation(List<SitePoint> points, List<Tier> tiers, List<int[]> pairs, double[] y) {
        List<Use> uses = new ArrayList<>();
        for (int v = 0; v < y.length; v++) {
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
