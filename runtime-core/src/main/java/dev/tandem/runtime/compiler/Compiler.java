package dev.tandem.runtime.compiler;

import dev.tandem.runtime.device.DeviceKind;
import dev.tandem.runtime.device.DeviceSpec.Link;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeSet;

/**
 * The static compiler: for a policy, tries each role assignment of its family on the pool, sizes
 * every group (tensor parallel degree and pipeline stages) within capacity, schedules one prefill and
 * one decode step on a static timeline, and keeps the best plan under the objective.
 */
public final class Compiler {
    private final CostModel cost;

    public Compiler(CostModel cost) { this.cost = cost; }

    /** The cost model plans are predicted with (an executor re-asks it for the positions it ran). */
    public CostModel costModel() { return cost; }

    /** A compiler using every {@link OpCostProvider} on the module or class path, then the roofline. */
    public static Compiler withInstalledProviders() {
        List<OpCostProvider> providers = new ArrayList<>();
        ServiceLoader.load(OpCostProvider.class).forEach(providers::add);
        return new Compiler(new CostModel(providers));
    }

    /**
     * The predicted frontier of serving {@code graph} on {@code pool} for requests of ISL:OSL tokens:
     * tokens/s per user against tokens/s per system over batch sizes and layouts. Catalog GPU groups
     * under single or auto are priced by the continuous-batching {@link GpuServingModel}; other
     * groups and policies by this compiler's static plans at the same batch sizes (labelled so).
     *
     * @param weights weight format; fp8 and nvfp4 are known to the GPU model only
     * @param kvCache KV cache format (bf16 or fp8)
     * @throws CapacityException when no layout of any group holds the weights and one sequence
     * @throws PolicyException   when the policy cannot apply to the pool
     */
    public Frontier frontier(ModelGraph graph, Pool pool, Policy policy, ServingWorkload workload, ServingFormat weights,
                             ServingFormat kvCache) {
        boolean gguf = ServingFormat.of(graph.format()).equals(weights);
        return Frontiers.build(this, graph, pool, policy, workload, weights, kvCache, gguf);
    }

    /** {@link #frontier} with the graph's own weight format and a BF16 KV cache. */
    public Frontier frontier(ModelGraph graph, Pool pool, Policy policy, ServingWorkload workload) {
        return frontier(graph, pool, policy, workload, ServingFormat.of(graph.format()), ServingFormat.BF16);
    }

    /** The best plan of a policy's family. */
    public Plan compile(ModelGraph graph, Pool pool, Workload w, Policy policy, Objective objective) {
        List<Workload> workloads = policy == Policy.AUTO && objective.throughput() ? batchSweep(w) : List.of(w);
        Plan best = null;
        Plan runnerUp = null;
        CapacityException firstFailure = null;
        for (Workload wl : workloads) {
            for (Assignment a : candidates(pool, policy)) {
                Plan p;
                try {
                    p = evaluate(graph, pool, wl, a, objective);
                } catch (CapacityException e) {
                    firstFailure = firstFailure == null ? e : firstFailure;
                    continue;
                }
                // The runner-up is the best plan of another assignment (a batch sweep repeats assignments).
                if (best == null || objective.better(p.predicted(), best.predicted())) {
                    if (best != null && !best.assignment().equals(p.assignment())) {
                        runnerUp = best;
                    }
                    best = p;
                } else if (!p.assignment().equals(best.assignment())
                        && (runnerUp == null || objective.better(p.predicted(), runnerUp.predicted()))) {
                    runnerUp = p;
                }
            }
        }
        if (best == null) {
            throw firstFailure;
        }
        if (objective.throughput() && best.predicted().tokensPerSPerUser() < objective.minUserTps()) {
            throw new PolicyException(String.format(Locale.ROOT,
                    "no %s plan reaches %.1f tokens/s per user on %s; the best gives %.1f", policy.cliName(),
                    objective.minUserTps(), pool, best.predicted().tokensPerSPerUser()));
        }
        return best.withReason(policy.cliName(), reason(best, runnerUp, objective));
    }

    private static String reason(Plan best, Plan runnerUp, Objective o) {
        String mine = o.throughput()
                ? String.format(Locale.ROOT, "%.0f tokens/s at batch %d (%.1f per user)", best.predicted().tokensPerS(),
                best.workload().batch(), best.predicted().tokensPerSPerUser())
                : String.format(Locale.ROOT, "TPOT %.3f ms", best.predicted().tpotMs());
        if (runnerUp == null) {
            return o + ": " + best.chosen() + " (" + best.assignment() + ") gives " + mine + "; no other assignment fits";
        }
        String theirs = o.throughput()
                ? String.format(Locale.ROOT, "%.0f tokens/s", runnerUp.predicted().tokensPerS())
                : String.format(Locale.ROOT, "%.3f ms", runnerUp.predicted().tpotMs());
        return o + ": " + best.chosen() + " (" + best.assignment() + ") gives " + mine + "; the next best, "
                + runnerUp.chosen() + " (" + runnerUp.assignment() + "), gives " + theirs;
    }

    private static List<Workload> batchSweep(Workload w) {
        Set<Integer> batches = new TreeSet<>();
        for (int b = 1; b <= 4096; b *= 2) {
            batches.add(b);
        }
        batches.add(w.batch());
        return batches.stream().map(w::withBatch).toList();
    }

    /** Every assignment of a policy's family on the pool. */
    public static List<Assignment> candidates(Pool pool, Policy policy) {
        List<DeviceGroup> all = pool.groups();
        List<DeviceGroup> lpus = pool.ofKind(DeviceKind.LPU);
        List<DeviceGroup> others = all.stream().filter(g -> g.spec().kind() != DeviceKind.LPU).toList();
        List<Assignment> out = new ArrayList<>();
        switch (policy) {
            case SINGLE -> all.forEach(g -> out.add(new Assignment(g, g, g)));
            case LPU_ONLY -> lpus.forEach(g -> out.add(new Assignment(g, g, g)));
            case DISAGG -> all.forEach(a -> all.stream().filter(b -> b != a).forEach(b -> out.add(new Assignment(a, b, b))));
            case AFD -> others.forEach(g -> lpus.forEach(l -> out.add(new Assignment(g, g, l))));
            case AUTO -> all.forEach(a -> all.forEach(b -> all.forEach(c -> out.add(new Assignment(a, b, c)))));
        }
        if (out.isEmpty()) {
            throw new PolicyException(switch (policy) {
                case LPU_ONLY -> "policy lpu-only needs an LPU in the pool (groqchip1 or lp30); pool: " + pool;
                case DISAGG -> "policy disagg needs two device groups (prefill on one, decode on another); pool: " + pool;
                case AFD -> "policy afd needs a GPU or CPU group and an LPU group; pool: " + pool;
                default -> "policy " + policy.cliName() + " has nothing to place on " + pool;
            });
        }
        return out;
    }

    // ---------------------------------------------------------------- one assignment

    /** What one group must hold for the roles it has. */
    private record Need(long weights, long kv, long activations, String roles) {}

    private static Need need(ModelGraph graph, Workload w, Assignment a, DeviceGroup g) {
        List<String> roles = new ArrayList<>();
        boolean prefill = Assignment.same(a.prefill(), g), attn = Assignment.same(a.attention(), g), ffn = Assignment.same(a.ffn(), g);
        long weights = 0;
        if (prefill) {
            roles.add("prefill");
            weights = graph.weightBytes();
        }
        if (attn) {
            roles.add("decode attention");
        }
        if (ffn) {
            roles.add("decode ffn");
        }
        if (!prefill) {
            for (Op op : graph.ops(Phase.DECODE, w.withBatch(1))) {
                boolean mine = op.kind() == OpKind.FFN ? ffn : attn;
                weights += mine ? op.weightBytes() : 0;
            }
        }
        long kv = attn ? (long) w.batch() * w.context() * graph.kvBytesPerToken()
                : prefill ? (long) w.batch() * w.promptLen() * graph.kvBytesPerToken() : 0;
        long act = graph.activationWorkspaceBytes(prefill ? Phase.PREFILL : Phase.DECODE, w);
        return new Need(weights, kv, act, String.join(" + ", roles));
    }

    /**
     * The layouts a group can take: every tensor-parallel degree up to its node, with enough stages
     * to fit. Where a provider models the device's placement (an emulated LPU), a stage fits when the
     * device's own placement holds its share; elsewhere bytes are counted against capacity.
     */
    private List<GroupLayout> layouts(ModelGraph graph, Workload w, Assignment a, DeviceGroup g) {
        Need n = need(graph, w, a, g);
        long cap = g.spec().memoryBytes();
        long held = n.weights() + n.kv();
        // Tensor-parallel devices split the scratch too; a group never runs wider than its node.
        long actPerDevice = n.activations() / Math.min(g.count(), g.nodeSize());
        double usable = cap - actPerDevice;
        int minDevices = usable <= 0 ? Integer.MAX_VALUE : (int) Math.min(Integer.MAX_VALUE, (long) Math.ceil(held / usable));
        String what = String.format(Locale.ROOT, "%s %s (weights %.2f GB, KV cache %.2f GB, activations %.3f GB per device)",
                graph.name(), n.roles(), n.weights() / 1e9, n.kv() / 1e9, actPerDevice / 1e9);
        int layers = graph.config().nLayers();
        StageFit placed = new StageFit(graph, w, a, g);
        if (placed.modelled()) {
            return placed.layouts(what, held, cap);
        }
        if (minDevices > g.count()) {
            throw new CapacityException(what, g.toString(), held + (long) g.count() * actPerDevice, (long) g.count() * cap,
                    minDevices, g.name());
        }
        List<GroupLayout> out = new ArrayList<>();
        for (int tp = 1; tp <= Math.min(g.count(), g.nodeSize()); tp++) {
            int stages = Math.max(1, (minDevices + tp - 1) / tp);
            if ((long) stages * tp <= g.count() && stages <= layers) {
                out.add(new GroupLayout(g, tp, stages, layers));
            }
        }
        if (out.isEmpty()) {
            // One layer's share per device does not fit even as one stage per layer.
            throw new CapacityException(what + " split layer by layer", g.toString(), held, (long) g.count() * cap,
                    minDevices, g.name());
        }
        return out;
    }

    /** Stage by stage against a provider's model of the device's placement (the executor's upload order and shares). */
    private final class StageFit {
        private final ModelGraph graph;
        private final DeviceGroup g;
        private final boolean attention, ffn, tables;
        private final int rows, maxPositions, layers;
        private final Map<String, Boolean> cache = new HashMap<>();
        private final boolean modelled;

        StageFit(ModelGraph graph, Workload w, Assignment a, DeviceGroup g) {
            this.graph = graph;
            this.g = g;
            boolean prefill = Assignment.same(a.prefill(), g);
            this.attention = prefill || Assignment.same(a.attention(), g);
            this.ffn = prefill || Assignment.same(a.ffn(), g);
            // The executor puts the embedding and the head on the stages of the groups that prefill and run decode attention.
            this.tables = attention;
            this.rows = prefill ? Math.max(ModelGraph.PREFILL_CHUNK, w.batch()) : Math.max(1, w.batch());
            this.maxPositions = w.context();
            this.layers = graph.config().nLayers();
            this.modelled = cost.stageHolds(g, graph, share(0, false, false), 1).isPresent();
        }

        boolean modelled() { return modelled; }

        private OpCostProvider.StageShare share(int layerCount, boolean first, boolean last) {
            return new OpCostProvider.StageShare(attention ? layerCount : 0, ffn ? layerCount : 0, tables && first, tables && last,
                    maxPositions, rows);
        }

        private boolean holds(int layerCount, boolean first, boolean last, int tp) {
            OpCostProvider.StageShare share = share(layerCount, first, last);
            return cache.computeIfAbsent(share + "|" + tp, k -> cost.stageHolds(g, graph, share, tp).orElse(false));
        }

        /** The most layers from layer `from` a stage holds (1 at least), or 0 when it holds none. */
        private int most(int from, int upTo, boolean first, boolean last, int tp) {
            int n = 0;
            while (from + n < upTo && holds(n + 1, first, last, tp)) {
                n++;
            }
            return n;
        }

        /** Where a group's stages cut: the first layer of each layer stage, and which tables take a stage of their own. */
        private record Cut(List<Integer> starts, boolean embeddingAlone, boolean headAlone) {
            int stages() { return starts.size() + (embeddingAlone ? 1 : 0) + (headAlone ? 1 : 0); }
        }

        /**
         * The fewest stages of tp devices that hold the share, or null when none do: the last stage
         * takes the most trailing layers it holds next to the output table, the others the most they
         * hold in order (the first next to the embedding). A table beside which no layer fits takes
         * a stage of its own, as the device places it (its rows over the stage's devices).
         */
        private Cut fewestStages(int tp) {
            if (holds(layers, true, true, tp)) {
                return new Cut(List.of(0), false, false);
            }
            int tail = Math.min(most(0, layers, false, true, tp), layers - 1);
            boolean headAlone = tables && tail == 0;
            if (headAlone && !holds(0, false, true, tp)) {
                return null;
            }
            boolean embeddingAlone = tables && most(0, layers, true, false, tp) == 0;
            if (embeddingAlone && !holds(0, true, false, tp)) {
                return null;
            }
            List<Integer> starts = new ArrayList<>();
            int at = 0;
            while (at < layers - tail) {
                int n = most(at, layers - tail, at == 0 && !embeddingAlone, false, tp);
                if (n == 0) {
                    return null;
                }
                starts.add(at);
                at += n;
            }
            if (tail > 0) {
                starts.add(layers - tail);
            }
            return new Cut(starts, embeddingAlone, headAlone);
        }

        List<GroupLayout> layouts(String what, long held, long cap) {
            List<GroupLayout> out = new ArrayList<>();
            int fewestDevices = Integer.MAX_VALUE;
            for (int tp = 1; tp <= g.nodeSize(); tp++) {
                Cut cut = fewestStages(tp);
                if (cut == null) {
                    continue;
                }
                int stages = cut.stages();
                fewestDevices = Math.min(fewestDevices, stages * tp);
                if (tp <= g.count() && (long) stages * tp <= g.count()) {
                    out.add(new GroupLayout(g, tp, stages, layers, cut.starts(), cut.embeddingAlone(), cut.headAlone()));
                }
            }
            if (out.isEmpty()) {
                if (fewestDevices == Integer.MAX_VALUE) {
                    throw new CapacityException(what, g.toString(), "no stage of up to " + g.nodeSize() + " devices holds one layer's"
                            + " share, or the embedding or output table alone, as the device places it");
                }
                throw new CapacityException(what + ", as the device places it", g.toString(), Math.max(held, (long) fewestDevices * cap),
                        (long) g.count() * cap, fewestDevices, g.name());
            }
            return out;
        }
    }

    /**
     * The best plan of one assignment: every combination of its groups' layouts is scheduled and the
     * best under the objective kept.
     * @throws CapacityException when a group cannot hold its roles
     */
    public Plan evaluate(ModelGraph graph, Pool pool, Workload w, Assignment a, Objective objective) {
        Map<String, List<GroupLayout>> options = new LinkedHashMap<>();
        for (DeviceGroup g : List.of(a.prefill(), a.attention(), a.ffn())) {
            if (!options.containsKey(g.name())) {
                options.put(g.name(), layouts(graph, w, a, g));
            }
        }
        List<String> names = new ArrayList<>(options.keySet());
        int[] index = new int[names.size()];
        Schedule best = null;
        Map<String, GroupLayout> bestLayouts = null;
        while (true) {
            Map<String, GroupLayout> chosen = new HashMap<>();
            for (int i = 0; i < names.size(); i++) {
                chosen.put(names.get(i), options.get(names.get(i)).get(index[i]));
            }
            Schedule s = schedule(graph, w, a, chosen, false);
            if (best == null || objective.better(s.predictions, best.predictions)) {
                best = s;
                bestLayouts = chosen;
            }
            int i = 0;
            while (i < names.size() && ++index[i] == options.get(names.get(i)).size()) {
                index[i++] = 0;
            }
            if (i == names.size()) {
                break;
            }
        }
        Schedule full = schedule(graph, w, a, bestLayouts, true);
        List<MemoryPlan.Entry> memory = new ArrayList<>();
        for (String name : names) {
            GroupLayout l = bestLayouts.get(name);
            Need n = need(graph, w, a, l.group());
            memory.add(new MemoryPlan.Entry(l.group().toString(), l.devicesUsed(), l.tensorParallel(), l.stages(), n.weights(),
                    n.kv(), n.activations() * l.stages(), (n.weights() + n.kv()) / l.devicesUsed() + n.activations() / l.tensorParallel(),
                    l.group().spec().memoryBytes()));
        }
        return new Plan(graph.name(), pool.toString(), w, a.policyName(), a.policyName(), a.toString(), "",
                full.predictions, full.placement, new MemoryPlan(memory), List.copyOf(full.sources), full.events, a, bestLayouts);
    }

    // ---------------------------------------------------------------- the static schedule

    private record Step(String track, double seconds, String name, Op op) {}

    private static final class Schedule {
        Predictions predictions;
        final List<Placement> placement = new ArrayList<>();
        final List<TimelineEvent> events = new ArrayList<>();
        final Set<String> sources = new LinkedHashSet<>();
    }

    private Schedule schedule(ModelGraph graph, Workload w, Assignment a, Map<String, GroupLayout> layouts, boolean record) {
        Schedule s = new Schedule();
        Map<String, Double> free = new HashMap<>();
        Map<String, Double> costCache = new HashMap<>();

        // Prefill: the whole batch on the prefill group, then the KV cache to the decode attention group.
        List<Step> prefill = steps(graph, Phase.PREFILL, w, a, layouts, costCache, s.sources);
        double ttft = run(List.of(prefill), 0, free, record ? s : null, "prefill");
        if (!Assignment.same(a.prefill(), a.attention())) {
            GroupLayout from = layouts.get(a.prefill().name()), to = layouts.get(a.attention().name());
            Link l = CostModel.link(a.prefill(), a.attention());
            long kvBytes = (long) w.batch() * w.promptLen() * graph.kvBytesPerToken();
            double t = CostModel.transferSeconds(l, kvBytes / Math.min(from.devicesUsed(), to.devicesUsed()));
            String track = "link " + a.prefill().name() + "->" + a.attention().name();
            if (record) {
                s.events.add(new TimelineEvent(track, ttft, ttft + t, "kv cache " + kvBytes + " B", "prefill", 0));
            }
            ttft += t;
        }

        List<List<Step>> microBatches = decodeMicroBatches(graph, w, a, layouts, costCache, s.sources);
        double end = run(microBatches, ttft, free, record ? s : null, "decode");
        double tpot = end - ttft;

        double prefillSeconds = ttft;
        int generated = Math.max(1, w.context() - w.promptLen());
        double decodeWatts = 0, prefillWatts = 0;
        for (GroupLayout l : layouts.values()) {
            double watts = l.devicesUsed() * l.group().spec().boardPowerWatts();
            boolean decodes = Assignment.same(l.group(), a.attention()) || Assignment.same(l.group(), a.ffn());
            decodeWatts += decodes ? watts : 0;
            prefillWatts += Assignment.same(l.group(), a.prefill()) ? watts : 0;
        }
        double joules = (decodeWatts * tpot * generated + prefillWatts * prefillSeconds) / ((double) w.batch() * generated);
        s.predictions = new Predictions(ttft * 1e3, tpot * 1e3, 1 / tpot, w.batch() / tpot, joules);
        if (record) {
            addPlacement(s, prefill);
            addPlacement(s, microBatches.getFirst());
        }
        return s;
    }

    /**
     * Decode: when attention and FFN are on different groups, two micro-batches ping-pong so each
     * group computes one while the other's activations cross the link.
     */
    private List<List<Step>> decodeMicroBatches(ModelGraph graph, Workload w, Assignment a, Map<String, GroupLayout> layouts,
                                                Map<String, Double> costCache, Set<String> sources) {
        boolean split = !Assignment.same(a.attention(), a.ffn()) && w.batch() >= 2;
        List<List<Step>> microBatches = new ArrayList<>();
        if (split) {
            int first = (w.batch() + 1) / 2;
            microBatches.add(steps(graph, Phase.DECODE, w.withBatch(first), a, layouts, costCache, sources));
            microBatches.add(steps(graph, Phase.DECODE, w.withBatch(w.batch() - first), a, layouts, costCache, sources));
        } else {
            microBatches.add(steps(graph, Phase.DECODE, w, a, layouts, costCache, sources));
        }
        return microBatches;
    }

    /**
     * One decode step of a compiled plan, as its schedule predicts it (the plan's own layouts, two
     * micro-batches where it ping-pongs), for batch sequences with context positions cached: what an
     * executor serving the plan at another batch and position compares its measured steps with.
     */
    public double decodeStepSeconds(ModelGraph graph, Plan plan, int batch, int context) {
        Workload w = new Workload(batch, 1, context);
        List<List<Step>> microBatches = decodeMicroBatches(graph, w, plan.roles(), plan.layouts(), new HashMap<>(), new LinkedHashSet<>());
        return run(microBatches, 0, new HashMap<>(), null, "decode");
    }

    private static void addPlacement(Schedule s, List<Step> steps) {
        for (Step st : steps) {
            if (st.op != null) {
                s.placement.add(new Placement(st.op.layer(), st.op.kind().name().toLowerCase(Locale.ROOT),
                        st.op.phase().name().toLowerCase(Locale.ROOT), st.track));
            }
        }
    }

    /** Runs micro-batches round-robin, step by step, each step when its track is free; returns the last end. */
    private static double run(List<List<Step>> microBatches, double t0, Map<String, Double> free, Schedule record, String phase) {
        double[] ready = new double[microBatches.size()];
        java.util.Arrays.fill(ready, t0);
        int n = microBatches.getFirst().size();
        double end = t0;
        for (int i = 0; i < n; i++) {
            for (int mb = 0; mb < microBatches.size(); mb++) {
                Step st = microBatches.get(mb).get(i);
                double start = Math.max(ready[mb], free.getOrDefault(st.track, 0.0));
                double stop = start + st.seconds;
                ready[mb] = stop;
                free.put(st.track, stop);
                end = Math.max(end, stop);
                if (record != null) {
                    record.events.add(new TimelineEvent(st.track, start, stop, st.name, phase, mb));
                }
            }
        }
        return end;
    }

    /** The ops of a phase with their tracks and costs, and a link step wherever consecutive ops change track. */
    private List<Step> steps(ModelGraph graph, Phase phase, Workload w, Assignment a, Map<String, GroupLayout> layouts,
                             Map<String, Double> costCache, Set<String> sources) {
        List<Step> steps = new ArrayList<>();
        String prevTrack = null;
        GroupLayout prevLayout = null;
        int prevStage = 0;
        long prevBytes = 0;
        for (Op op : graph.ops(phase, w)) {
            DeviceGroup g = phase == Phase.PREFILL ? a.prefill() : op.kind() == OpKind.FFN ? a.ffn() : a.attention();
            GroupLayout l = layouts.get(g.name());
            int stage = l.stageOf(op.layer());
            String track = l.stageLabel(stage);
            if (prevTrack != null && !prevTrack.equals(track)) {
                // Stages of one group move activations over the group's own fabric, which a provider may price.
                double seconds = prevLayout.group().name().equals(g.name())
                        ? cost.stageHop(g, graph, (int) (prevBytes / (2L * graph.config().dim())), prevBytes, prevStage, stage,
                                l.tensorParallel())
                        : CostModel.transferSeconds(CostModel.link(prevLayout.group(), g), prevBytes);
                steps.add(new Step("link " + prevTrack + "->" + track, seconds, "activations " + prevBytes + " B", null));
            }
            String key = phase + "|" + op.kind() + "|" + g.name() + "|" + l.tensorParallel() + "|" + w.batch();
            Double seconds = costCache.get(key);
            if (seconds == null) {
                CostModel.Cost c = cost.op(g, graph, op, l.tensorParallel());
                seconds = c.seconds();
                costCache.put(key, seconds);
                sources.add(g.name() + ": " + c.source());
            }
            String name = op.kind().name().toLowerCase(Locale.ROOT) + (op.kind() == OpKind.ATTENTION || op.kind() == OpKind.FFN ? " " + op.layer() : "");
            steps.add(new Step(track, seconds, name, op));
            if (op.kind() == OpKind.HEAD) {
                // The next token is sampled on the host from these logits before the next step can embed it.
                double host = cost.hostRoundTrip(g, graph);
                if (host > 0) {
                    steps.add(new Step(track, host, "host round trip (logits out, sampling, token in)", null));
                }
            }
            prevTrack = track;
            prevLayout = l;
            prevStage = stage;
            prevBytes = op.activationBytes();
        }
        return steps;
    }
}
