package dev.tandem.runtime.compiler;

import dev.tandem.runtime.error.TandemException;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * Builds a {@link Frontier}: catalog GPU groups under single or auto through the batched
 * {@link GpuServingModel} (every tensor-parallel degree a node allows, the fewest pipeline stages
 * that fit, replicas filling the group, batches up to the KV cache's limit); every other group or
 * policy through the static compiler's plans at the same batches, labelled as such.
 */
final class Frontiers {
    private Frontiers() {}

    /** Batch sizes a frontier prices: 1, 2, 3, 4, 5, 7, 9, 13, 17, 25, ... (alternately +1/2 and +1/3) up to {@code max}, and max itself. */
    static List<Integer> batchGrid(int max) {
        Set<Integer> out = new TreeSet<>();
        for (long b = 1, half = 0; b <= max; ) {
            out.add((int) b);
            long next = half == 0 ? b + Math.max(1, b / 2) : b + Math.max(1, b / 3);
            half ^= 1;
            b = next;
        }
        if (max >= 1) {
            out.add(max);
        }
        return List.copyOf(out);
    }

    static Frontier build(Compiler compiler, ModelGraph graph, Pool pool, Policy policy, ServingWorkload w,
                          ServingFormat weights, ServingFormat kv, boolean ggufWeights) {
        List<FrontierPoint> points = new ArrayList<>();
        Set<String> sources = new LinkedHashSet<>();
        List<String> notes = new ArrayList<>();
        List<CapacityException> misfits = new ArrayList<>();
        boolean steadyPolicy = policy == Policy.SINGLE || policy == Policy.AUTO;
        boolean othersPriced = false;
        for (DeviceGroup g : pool.groups()) {
            var figures = GpuFigures.of(g.name()).filter(f -> g.source() == DeviceSource.CATALOG);
            if (figures.isPresent() && steadyPolicy) {
                gpuPoints(graph, g, figures.get(), w, weights, kv, points, sources, notes, misfits);
            } else if (!othersPriced) {
                // Everything else (LPUs, present devices, policies splitting roles) gets the static plans once.
                othersPriced = true;
                staticPoints(compiler, graph, pool, policy, w, ggufWeights, kv, points, sources, notes);
            }
        }
        if (points.isEmpty()) {
            if (!misfits.isEmpty()) {
                throw misfits.getFirst();
            }
            throw new PolicyException("no " + policy.cliName() + " deployment of " + graph.name() + " on " + pool + ": "
                    + String.join("; ", notes));
        }
        return new Frontier(graph.name(), pool.toString(), policy.cliName(), w.toString(), weights.name(), kv.name(), points,
                List.copyOf(sources), notes);
    }

    private static void gpuPoints(ModelGraph graph, DeviceGroup g, GpuFigures f, ServingWorkload w, ServingFormat weights,
                                  ServingFormat kv, List<FrontierPoint> points, Set<String> sources, List<String> notes,
                                  List<CapacityException> misfits) {
        if (!weights.runsOn(f)) {
            notes.add(g.name() + ": " + weights + " needs FP4 tensor cores, which " + g.name() + " lacks");
            return;
        }
        GpuServingModel model = new GpuServingModel(graph, weights, kv, w, g, f);
        int heads = graph.config().nHeads();
        boolean any = false;
        for (int tp = 1; tp <= Math.min(g.count(), g.nodeSize()); tp++) {
            if (heads % tp != 0) {
                continue;
            }
            for (int pp = 1; pp <= graph.config().nLayers() && tp * pp <= g.count(); pp++) {
                var probe = new GpuServingModel.Layout(tp, pp, g.count() / (tp * pp));
                int max = model.maxBatch(probe);
                if (max < 1) {
                    continue;
                }
                for (int b : batchGrid(max)) {
                    points.add(model.point(probe, b));
                }
                any = true;
                break;   // the fewest stages that fit: more only add hops and weight re-reads
            }
        }
        if (!any) {
            // Weights and one sequence's KV cache over every device of the group, against what they have.
            var whole = new GpuServingModel.Layout(1, 1, 1);
            double needed = model.weightBytesPerDevice(whole) + model.kvBytesPerSequencePerDevice(whole)
                    + g.count() * model.reservedBytesPerDevice(whole);
            double usable = f.memoryBytes() - model.reservedBytesPerDevice(whole);
            int min = (int) Math.ceil((needed - g.count() * model.reservedBytesPerDevice(whole)) / usable);
            CapacityException e = new CapacityException(String.format(Locale.ROOT, "%s in %s with one %s sequence", graph.name(),
                    weights, w), g.toString(), (long) needed, (long) (g.count() * f.memoryBytes()), Math.max(min, g.count() + 1), g.name());
            misfits.add(e);
            notes.add(e.getMessage());
            return;
        }
        sources.add(g.name() + ": " + g.spec().name());
        f.achieved().sources().forEach(s -> sources.add(g.name() + " " + s));
    }

    private static void staticPoints(Compiler compiler, ModelGraph graph, Pool pool, Policy policy, ServingWorkload w,
                                     boolean ggufWeights, ServingFormat kv, List<FrontierPoint> points, Set<String> sources,
                                     List<String> notes) {
        if (!ggufWeights || kv != ServingFormat.BF16) {
            notes.add("plans other than single on catalog GPUs know only GGUF weights and an f16 KV cache; left out");
            return;
        }
        // Powers of two, as the static compiler's own sweep: each is a whole compile over every assignment.
        for (int b = 1; b <= 4096; b *= 2) {
            Plan p;
            try {
                p = compiler.compile(graph, pool, new Workload(b, w.inputTokens(), w.inputTokens() + w.outputTokens()), policy,
                        Objective.lowestTpot());
            } catch (CapacityException e) {
                if (b == 1) {
                    notes.add(policy.cliName() + ": " + e.getMessage());
                }
                break;
            } catch (TandemException e) {
                notes.add(policy.cliName() + ": " + e.getMessage());
                return;
            }
            double watts = 0;
            for (var e : p.memory().groups()) {
                String name = e.group().split("[*:]")[0];
                DeviceGroup g = pool.groups().stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow();
                watts += e.devicesUsed() * g.spec().boardPowerWatts();
            }
            Predictions x = p.predicted();
            points.add(new FrontierPoint(b, b, 0, 0, 1, x.tokensPerSPerUser(), x.tokensPerS(), x.ttftMs(), x.tpotMs(), watts,
                    x.joulesPerToken(), 0, "static", "static plan: " + p.chosen() + " (" + p.assignment()
                    + "), TPOT at the full context, prefill not amortised"));
        }
        sources.add("static plans: " + String.join("; ", List.copyOf(new LinkedHashSet<>(points.stream()
                .filter(q -> q.bound().equals("static")).map(FrontierPoint::source).toList()))));
    }
}
