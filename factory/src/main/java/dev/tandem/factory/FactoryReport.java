package dev.tandem.factory;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Locale;

/** What {@code tandem factory} prints: a table, or one JSON object with every frontier point and allocation. */
record FactoryReport(String model, String weights, RequestShape requests, Facility facility, String source, Planner.FactoryPlan plan) {

    String json() {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.createObjectNode();
        root.put("model", model).put("weights", weights);
        root.putObject("workload").put("isl", requests.inputTokens()).put("osl", requests.outputTokens());
        root.put("power_w", plan.powerWatts());
        root.set("facility", mapper.valueToTree(facility));
        root.put("frontier_source", source);
        root.set("tiers", mapper.valueToTree(plan.tiers()));
        if (plan.split() != null) {
            root.set("split", mapper.valueToTree(plan.split()));
        }
        ArrayNode configurations = root.putArray("configurations");
        for (ConfigurationFrontier f : plan.frontiers()) {
            ObjectNode c = configurations.addObject().put("name", f.configuration().name())
                    .put("kind", f.configuration().kind().name().toLowerCase(Locale.ROOT));
            c.put("gpu", f.configuration().gpu()).put("lpu", f.configuration().lpu());
            ArrayNode unreachable = c.putArray("unreachable_tiers");
            f.unreachable(plan.tiers()).forEach(t -> unreachable.add(t.name()));
            ArrayNode points = c.putArray("points");
            for (SitePoint p : f.points()) {
                points.addObject().put("batch", p.point().batch())
                        .put("tokens_per_s_per_user", p.tokensPerSPerUser())
                        .put("tokens_per_s_per_unit", p.tokensPerS())
                        .put("unit_gpu_w", p.gpuWatts()).put("unit_lpu_w", p.lpuWatts())
                        .put("tokens_per_s_per_mw", p.tokensPerSPerMW())
                        .put("tokens_per_joule", p.tokensPerJoule())
                        .put("site_tokens_per_s", p.tokensPerSPerMW() * plan.powerWatts() / 1e6)
                        .put("detail", p.point().detail());
            }
        }
        ArrayNode mixes = root.putArray("mixes");
        for (Planner.Mix m : plan.mixes()) {
            mixes.add(mix(mapper, m));
        }
        ArrayNode best = root.putArray("best");
        for (Planner.Best b : plan.best()) {
            ObjectNode o = best.addObject().put("gpu", b.gpu()).put("lpu", b.lpu())
                    .put("best_lpu_share", b.best().lpuShare())
                    .put("revenue_per_year", b.best().allocation().revenuePerYear());
            o.put("optimal_lpu_share", b.optimal().lpuShare()).put("optimal_revenue_per_year", b.optimal().allocation().revenuePerYear());
            if (b.allGpu() != null) {
                o.put("all_gpu_revenue_per_year", b.allGpu().allocation().revenuePerYear());
            }
        }
        try {
            return mapper.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ObjectNode mix(ObjectMapper mapper, Planner.Mix m) {
        Allocator.Allocation a = m.allocation();
        ObjectNode o = mapper.createObjectNode().put("gpu", m.gpu()).put("lpu", m.lpu()).put("lpu_share", m.lpuShare())
                .put("revenue_per_year", a.revenuePerYear()).put("tokens_per_s", a.tokensPerS()).put("watts_used", a.watts());
        ArrayNode tiers = o.putArray("tiers");
        for (Tier t : a.tiers()) {
            tiers.addObject().put("name", t.name()).put("tokens_per_s", a.tokensPerS(t)).put("watts", a.watts(t));
        }
        ArrayNode uses = o.putArray("allocation");
        for (Allocator.Use u : a.uses()) {
            uses.addObject().put("configuration", u.point().configuration().name()).put("batch", u.point().point().batch())
                    .put("tier", u.tier().name()).put("units", u.units()).put("whole_units", Math.floor(u.units() + 1e-9))
                    .put("gpu_w", u.gpuWatts()).put("lpu_w", u.lpuWatts())
                    .put("tokens_per_s", u.tokensPerS()).put("tokens_per_s_per_user", u.point().tokensPerSPerUser())
                    .put("revenue_per_year", u.dollarsPerS() * Allocator.Allocation.SECONDS_PER_YEAR);
        }
        return o;
    }

    void printTable(PrintWriter out) {
        out.printf(Locale.ROOT, "%s (%s), workload %s, site %s (PUE %.2f; per node: GPU host %.0f W, LPU host %.0f W, network %.0f W)%n",
                model, weights, requests, watts(plan.powerWatts()), facility.pue(), facility.gpuNodeHostWatts(),
                facility.lpuNodeHostWatts(), facility.networkWattsPerNode());
        out.printf("frontier: %s; figures rest on that model%n%n", source);
        out.printf(Locale.ROOT, "%-20s %-39s %-39s %s%n", "", "throughput end (most tokens/s per MW)", "fast end (most tokens/s per user)", "");
        out.printf(Locale.ROOT, "%-20s %6s %9s %10s %11s   %6s %9s %10s %11s  %s%n", "configuration", "batch", "tok/s/usr",
                "tok/s/MW", "site tok/s", "batch", "tok/s/usr", "tok/s/MW", "site tok/s", "tiers out of reach");
        for (ConfigurationFrontier f : plan.frontiers()) {
            if (f.points().isEmpty()) {
                out.printf(Locale.ROOT, "%-20s does not fit at any batch size%n", f.configuration().name());
                continue;
            }
            SitePoint t = f.throughputEnd().orElseThrow(), q = f.fastEnd().orElseThrow();
            out.printf(Locale.ROOT, "%-20s %6d %9.1f %10.4g %11.4g   %6d %9.1f %10.4g %11.4g  %s%n", f.configuration().name(),
                    t.point().batch(), t.tokensPerSPerUser(), t.tokensPerSPerMW(), site(t), q.point().batch(), q.tokensPerSPerUser(),
                    q.tokensPerSPerMW(), site(q), String.join(", ", f.unreachable(plan.tiers()).stream().map(Tier::name).toList()));
        }
        out.printf("%ntiers: %s%s%n", String.join("; ", plan.tiers().stream().map(FactoryReport::tier).toList()),
                plan.split() == null ? "; allocation: revenue-maximising (exact LP)" : "; allocation: fixed split " + splitText(plan.split()));
        out.printf("%nrevenue per year by LPU share of the power%n");
        for (Planner.Best b : plan.best()) {
            List<Planner.Mix> rows = plan.mixes().stream().filter(m -> java.util.Objects.equals(m.gpu(), b.gpu())
                    && java.util.Objects.equals(m.lpu(), b.lpu())).toList();
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "  %-14s", b.best().name()));
            for (Planner.Mix m : rows) {
                line.append(String.format(Locale.ROOT, " %3.0f%%: %-9s", m.lpuShare() * 100, dollars(m.allocation().revenuePerYear())));
            }
            out.println(line);
            out.printf(Locale.ROOT, "  %-14s best at %.0f%% LPU: %s/year%s%n", "", b.best().lpuShare() * 100,
                    dollars(b.best().allocation().revenuePerYear()),
                    b.allGpu() == null || b.best() == b.allGpu() ? (b.lpu() == null ? "" : " (100% GPU wins)") : String.format(Locale.ROOT,
                            " (%s more than 100%% GPU)", dollars(b.best().allocation().revenuePerYear() - b.allGpu().allocation().revenuePerYear())));
            if (b.lpu() != null && b.gpu() != null) {
                out.printf(Locale.ROOT, "  %-14s share left to the LP: %.1f%% LPU, %s/year%n", "", b.optimal().lpuShare() * 100,
                        dollars(b.optimal().allocation().revenuePerYear()));
            }
        }
        // The most revenue; among revenues equal to 1e-6 (every demand met), the most tokens.
        Planner.Best top = plan.best().getFirst();
        for (Planner.Best b : plan.best()) {
            double r = b.best().allocation().dollarsPerS(), rTop = top.best().allocation().dollarsPerS();
            boolean tie = Math.abs(r - rTop) <= 1e-6 * Math.max(r, rTop);
            if (tie ? b.best().allocation().tokensPerS() > top.best().allocation().tokensPerS() : r > rTop) {
                top = b;
            }
        }
        Allocator.Allocation a = top.best().allocation();
        out.printf(Locale.ROOT, "%nbest mix: %s at %.0f%% LPU: %s/year, %.4g tokens/s, %s of %s used%n", top.best().name(),
                top.best().lpuShare() * 100, dollars(a.revenuePerYear()), a.tokensPerS(), watts(a.watts()), watts(plan.powerWatts()));
        for (Tier t : plan.tiers()) {
            out.printf(Locale.ROOT, "  %-8s %12.4g tokens/s  %9s%n", t.name(), a.tokensPerS(t), watts(a.watts(t)));
        }
        for (Allocator.Use u : a.uses()) {
            out.printf(Locale.ROOT, "    %-26s -> %-6s %9.1f units  %9s  %11.4g tokens/s at %.1f per user%n", u.point().label(),
                    u.tier().name(), u.units(), watts(u.watts()), u.tokensPerS(), u.point().tokensPerSPerUser());
        }
    }

    private double site(SitePoint p) { return p.tokensPerSPerMW() * plan.powerWatts() / 1e6; }

    private static String tier(Tier t) {
        return String.format(Locale.ROOT, "%s $%s/M at >= %.0f tok/s/user%s", t.name(), trim(t.pricePerMTokens()), t.minTokensPerSPerUser(),
                t.demandTokensPerS() == null ? "" : String.format(Locale.ROOT, " (demand <= %.3g tok/s)", t.demandTokensPerS()));
    }

    private static String splitText(double[] split) {
        StringBuilder s = new StringBuilder();
        for (double f : split) {
            s.append(s.isEmpty() ? "" : "/").append(trim(f * 100)).append('%');
        }
        return s.toString();
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
    }

    static String watts(double w) {
        return w >= 0.9995e9 ? String.format(Locale.ROOT, "%.3f GW", w / 1e9) : w >= 1e6 ? String.format(Locale.ROOT, "%.1f MW", w / 1e6)
                : w >= 1e3 ? String.format(Locale.ROOT, "%.1f kW", w / 1e3) : String.format(Locale.ROOT, "%.0f W", w);
    }

    static String dollars(double d) {
        return d >= 1e9 ? String.format(Locale.ROOT, "$%.2fB", d / 1e9) : d >= 1e6 ? String.format(Locale.ROOT, "$%.1fM", d / 1e6)
                : String.format(Locale.ROOT, "$%.0f", d);
    }
}
