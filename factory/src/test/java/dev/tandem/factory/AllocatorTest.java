package dev.tandem.factory;

import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.ArrayRealVector;
import org.apache.commons.math3.linear.LUDecomposition;
import org.apache.commons.math3.linear.RealVector;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The LP against brute force: every vertex of the same polytope, enumerated. */
class AllocatorTest {

    /**
     * The best revenue by enumerating vertices: every choice of n tight constraints among the m
     * constraint rows and the n bounds y >= 0, solved exactly, kept when feasible. An LP's optimum
     * over a bounded polytope is at a vertex, so this is exact, and shares no code with the simplex.
     */
    static double bruteForce(List<SitePoint> points, List<Tier> tiers, double gpuW, double lpuW, double[] split) {
        List<int[]> pairs = new ArrayList<>();
        for (int j = 0; j < points.size(); j++) {
            for (int t = 0; t < tiers.size(); t++) {
                if (points.get(j).tokensPerSPerUser() >= tiers.get(t).minTokensPerSPerUser()) {
                    pairs.add(new int[] {j, t});
                }
            }
        }
        int n = pairs.size();
        if (n == 0) {
            return 0;
        }
        List<double[]> rows = new ArrayList<>();
        List<Double> rhs = new ArrayList<>();
        double[] g = new double[n], l = new double[n], revenue = new double[n];
        for (int v = 0; v < n; v++) {
            SitePoint p = points.get(pairs.get(v)[0]);
            g[v] = p.gpuWatts();
            l[v] = p.lpuWatts();
            revenue[v] = p.tokensPerS() * tiers.get(pairs.get(v)[1]).dollarsPerToken();
        }
        rows.add(g);
        rhs.add(gpuW);
        rows.add(l);
        rhs.add(lpuW);
        for (int t = 0; t < tiers.size(); t++) {
            double[] d = new double[n], w = new double[n];
            for (int v = 0; v < n; v++) {
                if (pairs.get(v)[1] == t) {
                    d[v] = points.get(pairs.get(v)[0]).tokensPerS();
                    w[v] = points.get(pairs.get(v)[0]).watts();
                }
            }
            if (tiers.get(t).demandTokensPerS() != null) {
                rows.add(d);
                rhs.add(tiers.get(t).demandTokensPerS());
            }
            if (split != null) {
                rows.add(w);
                rhs.add(split[t] * (gpuW + lpuW));
            }
        }
        for (int v = 0; v < n; v++) { // -y <= 0
            double[] bound = new double[n];
            bound[v] = -1;
            rows.add(bound);
            rhs.add(0.0);
        }
        double best = 0;
        int m = rows.size();
        int[] choice = new int[n];
        for (int i = 0; i < n; i++) {
            choice[i] = i;
        }
        while (true) {
            Array2DRowRealMatrix a = new Array2DRowRealMatrix(n, n);
            double[] b = new double[n];
            for (int i = 0; i < n; i++) {
                a.setRow(i, rows.get(choice[i]));
                b[i] = rhs.get(choice[i]);
            }
            LUDecomposition lu = new LUDecomposition(a, 1e-12);
            if (lu.getSolver().isNonSingular()) {
                RealVector y = lu.getSolver().solve(new ArrayRealVector(b));
                boolean feasible = true;
                for (int r = 0; r < m && feasible; r++) {
                    double lhs = new ArrayRealVector(rows.get(r)).dotProduct(y);
                    feasible = lhs <= rhs.get(r) + 1e-7 * Math.max(1, Math.abs(rhs.get(r)));
                }
                if (feasible) {
                    best = Math.max(best, new ArrayRealVector(revenue).dotProduct(y));
                }
            }
            int i = n - 1;
            while (i >= 0 && choice[i] == m - n + i) {
                i--;
            }
            if (i < 0) {
                return best;
            }
            choice[i]++;
            for (int k = i + 1; k < n; k++) {
                choice[k] = choice[k - 1] + 1;
            }
        }
    }

    @Test
    void matchesBruteForceOnSmallRandomCases() {
        Random random = new Random(20261130);
        for (int c = 0; c < 300; c++) {
            List<SitePoint> points = new ArrayList<>();
            int count = 1 + random.nextInt(3);
            for (int j = 0; j < count; j++) {
                double perUser = 5 + random.nextDouble() * 500;
                double tokens = 100 + random.nextDouble() * 1e5;
                double gw = random.nextInt(3) == 0 ? 0 : 1e4 + random.nextDouble() * 1e5;
                double lw = gw == 0 || random.nextBoolean() ? 1e4 + random.nextDouble() * 1e5 : 0;
                points.add(Points.mixed("g", "l", j + 1, perUser, tokens, gw, lw));
            }
            List<Tier> tiers = new ArrayList<>();
            int tierCount = 1 + random.nextInt(2);
            for (int t = 0; t < tierCount; t++) {
                Double demand = random.nextBoolean() ? random.nextDouble() * 1e7 : null;
                tiers.add(new Tier("t" + t, random.nextDouble() * 100, random.nextDouble() * 300, demand));
            }
            double[] split = null;
            if (random.nextInt(4) == 0) {
                split = new double[tierCount];
                for (int t = 0; t < tierCount; t++) {
                    split[t] = 1.0 / tierCount;
                }
            }
            double gpuW = random.nextDouble() * 1e8, lpuW = random.nextDouble() * 5e7;
            Allocator.Allocation a = Allocator.maximiseRevenue(points, tiers, gpuW, lpuW, split);
            double expected = bruteForce(points, tiers, gpuW, lpuW, split);
            assertEquals(expected, a.dollarsPerS(), 1e-6 * Math.max(1, expected), "case " + c);
            assertFeasible(a, gpuW, lpuW, split);
        }
    }

    static void assertFeasible(Allocator.Allocation a, double gpuW, double lpuW, double[] split) {
        double tol = 1e-6;
        assertTrue(a.uses().stream().mapToDouble(Allocator.Use::gpuWatts).sum() <= gpuW * (1 + tol) + 1e-3, "GPU budget");
        assertTrue(a.uses().stream().mapToDouble(Allocator.Use::lpuWatts).sum() <= lpuW * (1 + tol) + 1e-3, "LPU budget");
        for (int t = 0; t < a.tiers().size(); t++) {
            Tier tier = a.tiers().get(t);
            if (tier.demandTokensPerS() != null) {
                assertTrue(a.tokensPerS(tier) <= tier.demandTokensPerS() * (1 + tol) + 1e-3, "demand of " + tier.name());
            }
            if (split != null) {
                assertTrue(a.watts(tier) <= split[t] * (gpuW + lpuW) * (1 + tol) + 1e-3, "split of " + tier.name());
            }
        }
        for (Allocator.Use u : a.uses()) {
            assertTrue(u.point().tokensPerSPerUser() >= u.tier().minTokensPerSPerUser(), u.point().label() + " sold below its tier's floor");
        }
    }

    @Test
    void withoutDemandLimitsAllPowerGoesToTheBestRevenuePerWatt() {
        // $1/M at >= 10 and 20,000 tok/s per 100 kW; $10/M at >= 100 and 1,500 tok/s per 100 kW: 0.2 vs 0.15 $/s per unit.
        List<SitePoint> points = List.of(Points.gpu("g", 64, 30, 20_000, 1e5), Points.gpu("g", 1, 150, 1_500, 1e5));
        List<Tier> tiers = List.of(new Tier("cheap", 1, 10, null), new Tier("fast", 10, 100, null));
        Allocator.Allocation a = Allocator.maximiseRevenue(points, tiers, 1e8, 0, null);
        assertEquals(1, a.uses().size(), a.uses().toString());
        assertEquals(64, a.uses().getFirst().point().point().batch());
        assertEquals(1000, a.uses().getFirst().units(), 1e-6);
        assertEquals(1000 * 20_000 * 1e-6, a.dollarsPerS(), 1e-9);
    }

    @Test
    void demandLimitsSpreadThePowerAndLeftoverPowerStillServesTokens() {
        List<SitePoint> points = List.of(Points.gpu("g", 64, 30, 20_000, 1e5), Points.gpu("g", 1, 150, 1_500, 1e5));
        List<Tier> tiers = List.of(new Tier("free", 0, 10, null), new Tier("cheap", 1, 10, 1e6), new Tier("fast", 10, 100, 1.5e4));
        Allocator.Allocation a = Allocator.maximiseRevenue(points, tiers, 1e8, 0, null);
        assertEquals(1e6, a.tokensPerS(tiers.get(1)), 1e-3);
        assertEquals(1.5e4, a.tokensPerS(tiers.get(2)), 1e-3);
        assertEquals(1e6 * 1e-6 + 1.5e4 * 1e-5, a.dollarsPerS(), 1e-8); // the token-maximising pass may give up 1e-9 of it
        // 50 + 10 units sold; the other 940 units' power serves the free tier at the most tokens/s per watt.
        assertEquals(940 * 20_000, a.tokensPerS(tiers.get(0)), 1e-2);
        assertEquals(1e8, a.watts(), 1e-2);
    }

    @Test
    void aFixedSplitCapsEachTiersPower() {
        List<SitePoint> points = List.of(Points.gpu("g", 64, 30, 20_000, 1e5), Points.gpu("g", 1, 150, 1_500, 1e5));
        List<Tier> tiers = List.of(new Tier("cheap", 1, 10, null), new Tier("fast", 10, 100, null));
        Allocator.Allocation a = Allocator.maximiseRevenue(points, tiers, 1e8, 0, new double[] {0.25, 0.75});
        assertEquals(0.25e8, a.watts(tiers.get(0)), 1e-2);
        assertEquals(0.75e8, a.watts(tiers.get(1)), 1e-2);
        assertEquals(250 * 20_000, a.tokensPerS(tiers.get(0)), 1e-3);
        assertEquals(750 * 1_500, a.tokensPerS(tiers.get(1)), 1e-3);
    }

    @Test
    void lpuPowerOnlyBuysLpuPoints() {
        List<SitePoint> points = List.of(Points.gpu("g", 64, 30, 20_000, 1e5), Points.lpu("l", 1, 1000, 3_000, 1e5));
        List<Tier> tiers = List.of(new Tier("cheap", 1, 10, null), new Tier("fast", 150, 900, null));
        Allocator.Allocation none = Allocator.maximiseRevenue(points, tiers, 1e8, 0, null);
        assertEquals(0, none.tokensPerS(tiers.get(1)));
        Allocator.Allocation some = Allocator.maximiseRevenue(points, tiers, 0.75e8, 0.25e8, null);
        assertEquals(250 * 3_000, some.tokensPerS(tiers.get(1)), 1e-3);
        assertEquals(750 * 20_000, some.tokensPerS(tiers.get(0)), 1e-3);
    }
}
