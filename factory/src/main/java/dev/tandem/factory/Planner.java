package dev.tandem.factory;

import dev.tandem.runtime.compiler.ModelGraph;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Plans a token factory: each configuration's frontier from a {@link FrontierSource}, scaled by a
 * {@link Facility}; then, for each GPU kind with each LPU kind, the revenue-maximising allocation of
 * the site's power at each LPU share (the share of the site's power on LPU nodes: the LPUs
 * provisioned, used or not).
 */
public final class Planner {
    private final FrontierSource source;
    private final Facility facility;

    public Planner(FrontierSource source, Facility facility) {
        this.source = source;
        this.facility = facility;
    }

    public FrontierSource source() { return source; }

    public Facility facility() { return facility; }

    /**
     * Every configuration the devices make: each GPU alone; each GPU with each LPU (afd, and disagg:
     * prefill on the GPU, decode on the LPU); each LPU alone only when no GPU is given. With a GPU
     * beside it, an LPU-only replica would prefill on the LPUs, which disagg does on the GPU instead,
     * and pricing that prefill on the emulator (chunk by chunk, every position) takes minutes.
     */
    public static List<Configuration> configurations(List<String> gpus, List<String> lpus) {
        List<Configuration> out = new ArrayList<>();
        for (String g : gpus) {
            out.add(Configuration.gpuOnly(g));
            for (String l : lpus) {
                out.add(new Configuration(Configuration.Kind.AFD, g, l));
                out.add(new Configuration(Configuration.Kind.DISAGG, g, l));
            }
        }
        if (gpus.isEmpty()) {
            lpus.forEach(l -> out.add(Configuration.lpuOnly(l)));
        }
        return out;
    }

    /** Each configuration's frontier at the site's scale (power-independent: tokens/s and watts per unit). */
    public List<ConfigurationFrontier> frontiers(ModelGraph model, RequestShape requests, List<String> gpus, List<String> lpus) {
        List<ConfigurationFrontier> out = new ArrayList<>();
        for (Configuration c : configurations(gpus, lpus)) {
            out.add(new ConfigurationFrontier(c, source.frontier(model, c, requests).stream().map(p -> facility.scale(c, p)).toList()));
        }
        return out;
    }

    /** One GPU kind with one LPU kind (either may be null) at one LPU share, and its allocation. */
    public record Mix(String gpu, String lpu, double lpuShare, Allocator.Allocation allocation) {
        public String name() {
            return gpu == null ? lpu : lpu == null ? gpu : gpu + "+" + lpu;
        }
    }

    /**
     * Which LPU share earns the most for one GPU/LPU pair: {@code best} among the shares tried,
     * {@code optimal} with the share left to the LP (its LPU watts over the power are the smallest
     * exact revenue-maximising share); and what 0% (all GPU) earns.
     */
    public record Best(String gpu, String lpu, Mix best, Mix optimal, Mix allGpu) {}

    /** The planner's answer. */
    public record FactoryPlan(double powerWatts, List<Tier> tiers, double[] split, List<ConfigurationFrontier> frontiers,
                              List<Mix> mixes, List<Best> best) {}

    /**
     * Allocates the power for every mix.
     *
     * @param lpuShares shares of the power on LPU nodes to try, each in [0, 1]; 0 alone when there are no LPUs
     * @param split     null to optimise freely, else one fraction of the power per tier
     * @param allowUnreachable plan without a tier no configuration reaches instead of failing
     * @throws TierUnreachableException when a tier is faster than every configuration (and not allowed)
     */
    public FactoryPlan plan(List<ConfigurationFrontier> frontiers, double powerWatts, List<Tier> tiers, List<Double> lpuShares,
                            double[] split, boolean allowUnreachable) {
        if (!(powerWatts > 0) || !Double.isFinite(powerWatts)) {
            throw new IllegalArgumentException("the power must be positive and finite, got " + powerWatts);
        }
        double fastest = frontiers.stream().mapToDouble(ConfigurationFrontier::fastestUser).max().orElse(0);
        if (fastest == 0) {
            throw new TierUnreachableException("no configuration can serve the model: nothing fits at any batch size");
        }
        if (!allowUnreachable) {
            for (Tier t : tiers) {
                if (t.minTokensPerSPerUser() > fastest) {
                    ConfigurationFrontier top = frontiers.stream().max(Comparator.comparingDouble(ConfigurationFrontier::fastestUser)).orElseThrow();
                    throw new TierUnreachableException(String.format(Locale.ROOT,
                            "tier '%s' needs %.0f tokens/s per user; the fastest configuration, %s, reaches %.1f"
                                    + " (--allow-unreachable plans without it)", t.name(), t.minTokensPerSPerUser(),
                            top.configuration().name(), fastest));
                }
            }
        }
        List<String> gpus = frontiers.stream().map(f -> f.configuration().gpu()).filter(g -> g != null).distinct().toList();
        List<String> lpus = frontiers.stream().map(f -> f.configuration().lpu()).filter(l -> l != null).distinct().toList();
        List<Mix> mixes = new ArrayList<>();
        List<Best> best = new ArrayList<>();
        for (String g : gpus.isEmpty() ? java.util.Collections.<String>singletonList(null) : gpus) {
            for (String l : lpus.isEmpty() ? java.util.Collections.<String>singletonList(null) : lpus) {
                List<SitePoint> points = new ArrayList<>();
                for (ConfigurationFrontier f : frontiers) {
                    Configuration c = f.configuration();
                    if ((c.gpu() == null || c.gpu().equals(g)) && (c.lpu() == null || c.lpu().equals(l))) {
                        points.addAll(f.points());
                    }
                }
                List<Double> shares = l == null ? List.of(0.0) : g == null ? List.of(1.0) : lpuShares;
                List<Mix> pair = new ArrayList<>();
                for (double s : shares) {
                    pair.add(new Mix(g, l, s, Allocator.maximiseRevenue(points, tiers, (1 - s) * powerWatts, s * powerWatts, split)));
                }
                mixes.addAll(pair);
                // Ties go to the smaller share: the same revenue with fewer LPUs to buy.
                Mix top = pair.stream().reduce((a, b) -> b.allocation().dollarsPerS() > a.allocation().dollarsPerS() * (1 + 1e-9) ? b : a)
                        .orElseThrow();
                Mix zero = pair.stream().filter(m -> m.lpuShare() == 0).findFirst().orElse(null);
                Allocator.Allocation free = Allocator.maximiseRevenueWithFewestLpus(points, tiers, powerWatts, split);
                double lpuUsed = free.uses().stream().mapToDouble(Allocator.Use::lpuWatts).sum();
                best.add(new Best(g, l, top, new Mix(g, l, Math.min(1, lpuUsed / powerWatts), free), zero));
            }
        }
        return new FactoryPlan(powerWatts, tiers, split, frontiers, mixes, best);
    }
}
