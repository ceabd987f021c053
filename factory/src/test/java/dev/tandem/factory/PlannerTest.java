package dev.tandem.factory;

import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.ModelShapes;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The planner on a hand-made frontier source: monotonicity, unreachable tiers, LPU shares. */
class PlannerTest {
    /**
     * GPUs: batch b gives 400/sqrt(b) tokens/s per user on one 8-GPU node; the LPU configurations are
     * fast (1,500/user at batch 1) but take LPU power. Roughly the shape of the compiler's frontier.
     */
    static final FrontierSource SYNTHETIC = new FrontierSource() {
        @Override
        public String name() { return "synthetic"; }

        @Override
        public List<OperatingPoint> frontier(ModelGraph model, Configuration c, RequestShape requests) {
            List<OperatingPoint> out = new ArrayList<>();
            for (int b = 1; b <= 1024; b *= 2) {
                double perUser = switch (c.kind()) {
                    case GPU -> 400 / Math.sqrt(b);
                    case AFD -> 300 / Math.sqrt(b);
                    case DISAGG, LPU -> 1500 / Math.sqrt(b);
                };
                if (c.kind() != Configuration.Kind.GPU && b > 16) {
                    break; // SRAM holds no bigger batch
                }
                List<OperatingPoint.DeviceCount> devices = new ArrayList<>();
                if (c.usesGpu()) {
                    devices.add(new OperatingPoint.DeviceCount(c.gpu(), false, 8, 1800, 8));
                }
                if (c.usesLpu()) {
                    devices.add(new OperatingPoint.DeviceCount(c.lpu(), true, 256, 300, 8));
                }
                out.add(new OperatingPoint(b, perUser, perUser * b, devices, "synthetic b=" + b));
            }
            return out;
        }
    };

    static final ModelGraph MODEL = ModelShapes.shape("llama-3-8b");
    static final RequestShape REQUESTS = new RequestShape(1024, 1024);
    static final List<Double> SHARES = List.of(0.0, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5);

    static Planner planner() { return new Planner(SYNTHETIC, Facility.DEFAULT); }

    static List<ConfigurationFrontier> frontiers() {
        return planner().frontiers(MODEL, REQUESTS, List.of("rubin"), List.of("lp30"));
    }

    @Test
    void configurationsAreEachGpuAloneEachPairAndLpusAloneOnlyWithoutGpus() {
        assertEquals(List.of("h100", "h100+lp30 afd", "h100+lp30 disagg", "rubin", "rubin+lp30 afd", "rubin+lp30 disagg"),
                Planner.configurations(List.of("h100", "rubin"), List.of("lp30")).stream().map(Configuration::name).toList());
        assertEquals(List.of("lp30", "groqchip1"),
                Planner.configurations(List.of(), List.of("lp30", "groqchip1")).stream().map(Configuration::name).toList());
    }

    @Test
    void morePowerNeverYieldsFewerTokensNorLessRevenue() {
        List<List<Tier>> tierSets = List.of(Tiers.defaults(),
                List.of(new Tier("free", 0, 10, null), new Tier("$3", 3, 40, 2e7), new Tier("$45", 45, 300, 1e6),
                        new Tier("$150", 150, 1000, 5e4)));
        for (List<Tier> tiers : tierSets) {
            for (double share : SHARES) {
                double tokens = 0, revenue = 0;
                for (double power : new double[] {1e6, 2e7, 1e8, 5e8, 1e9, 2e9}) {
                    Planner.Mix mix = planner().plan(frontiers(), power, tiers, List.of(share), null, false).mixes().getFirst();
                    double t = mix.allocation().tokensPerS(), r = mix.allocation().dollarsPerS();
                    assertTrue(t >= tokens * (1 - 1e-9), "tokens fell from " + tokens + " to " + t + " at " + power + " W, share " + share);
                    assertTrue(r >= revenue * (1 - 1e-9), "revenue fell at " + power + " W, share " + share);
                    tokens = t;
                    revenue = r;
                }
            }
        }
    }

    @Test
    void aCheaperTopTierNeverRaisesTheBestLpuSharesRevenue() {
        for (Double demand : new Double[] {null, 1e6, 1e5}) {
            double before = Double.MAX_VALUE;
            for (double price : new double[] {300, 150, 100, 45, 20, 6, 0}) {
                List<Tier> tiers = new ArrayList<>(Tiers.defaults().subList(0, 4));
                tiers.add(new Tier("top", price, 1000, demand));
                Planner.Best best = planner().plan(frontiers(), 1e9, tiers, SHARES, null, false).best().getFirst();
                double revenue = best.best().allocation().dollarsPerS();
                assertTrue(revenue <= before * (1 + 1e-9), "top tier at $" + price + " earned more than at a higher price");
                before = revenue;
            }
        }
    }

    @Test
    void aValuableCappedFastTierMovesTheBestShareOffZero() {
        List<Tier> tiers = List.of(new Tier("$6", 6, 100, 5e7), new Tier("$150", 150, 1000, 1e6));
        Planner.Best best = planner().plan(frontiers(), 1e9, tiers, SHARES, null, false).best().getFirst();
        assertTrue(best.best().lpuShare() > 0, "only the LPU configurations reach 1000 tokens/s per user");
        assertTrue(best.best().allocation().tokensPerS(tiers.get(1)) > 0);
        // Left to the LP, the share is exact: never less revenue than any share on the grid.
        assertTrue(best.optimal().allocation().dollarsPerS() >= best.best().allocation().dollarsPerS() * (1 - 1e-8),
                best.optimal().allocation().dollarsPerS() + " < " + best.best().allocation().dollarsPerS());
        assertTrue(best.optimal().lpuShare() > 0 && best.optimal().lpuShare() <= best.best().lpuShare() + 1e-9,
                "the exact share " + best.optimal().lpuShare() + " vs the grid's " + best.best().lpuShare());
        Planner.Best gpuOnly = planner().plan(frontiers(), 1e9, List.of(new Tier("$6", 6, 100, null)), SHARES, null, false).best().getFirst();
        assertEquals(0.0, gpuOnly.best().lpuShare(), "without a fast tier, LPU power only takes from the GPUs");
    }

    @Test
    void aTierNoConfigurationReachesIsAnErrorOrReported() {
        List<Tier> tiers = List.of(new Tier("$6", 6, 100, null), new Tier("warp", 500, 5000, null));
        TierUnreachableException e = assertThrows(TierUnreachableException.class,
                () -> planner().plan(frontiers(), 1e9, tiers, SHARES, null, false));
        assertTrue(e.getMessage().contains("tier 'warp' needs 5000 tokens/s per user"), e.getMessage());
        assertTrue(e.getMessage().contains("reaches 1500.0"), e.getMessage());

        Planner.FactoryPlan plan = planner().plan(frontiers(), 1e9, tiers, SHARES, null, true);
        for (ConfigurationFrontier f : plan.frontiers()) {
            assertTrue(f.unreachable(tiers).contains(tiers.get(1)), f.configuration() + " should report 'warp' out of reach");
        }
        assertEquals(List.of(), plan.frontiers().getFirst().unreachable(List.of(tiers.get(0))));
        for (Planner.Mix m : plan.mixes()) {
            assertEquals(0, m.allocation().tokensPerS(tiers.get(1)));
        }
    }

    @Test
    void aGpuOnlySiteHasOneMixAtZeroShareAndFillsThePower() {
        List<ConfigurationFrontier> gpuOnly = planner().frontiers(MODEL, REQUESTS, List.of("rubin"), List.of());
        Planner.FactoryPlan plan = planner().plan(gpuOnly, 2e7, List.of(new Tier("$3", 3, 10, null)), SHARES, null, false);
        assertEquals(1, plan.mixes().size());
        assertEquals(0.0, plan.mixes().getFirst().lpuShare());
        assertEquals(2e7, plan.mixes().getFirst().allocation().watts(), 1);
    }

    @Test
    void nonPositivePowerIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> planner().plan(frontiers(), 0, Tiers.defaults(), SHARES, null, false));
        assertThrows(IllegalArgumentException.class, () -> planner().plan(frontiers(), -5, Tiers.defaults(), SHARES, null, false));
    }
}
