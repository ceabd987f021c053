package dev.tandem.factory;

import dev.tandem.runtime.compiler.Assignment;
import dev.tandem.runtime.compiler.CapacityException;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.Compiler;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.Frontier;
import dev.tandem.runtime.compiler.FrontierPoint;
import dev.tandem.runtime.compiler.GroupLayout;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Objective;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.compiler.Policy;
import dev.tandem.runtime.compiler.PolicyException;
import dev.tandem.runtime.compiler.Pool;
import dev.tandem.runtime.compiler.Predictions;
import dev.tandem.runtime.compiler.ServingWorkload;
import dev.tandem.runtime.compiler.Workload;
import dev.tandem.runtime.device.DeviceKind;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * Today's frontier. A catalog GPU alone is priced by the compiler's continuous-batching steady state
 * ({@link Compiler#frontier}: prefill amortised, KV cache paged by actual lengths, every
 * tensor-parallel degree of one node, replicas filling it), one node being the unit; a model one node
 * cannot hold falls back to the static plans below.
 *
 * <p>Configurations with LPUs get {@code tandem compile}'s static predictions (the LPU emulator's
 * scheduled cycles) at batch sizes 1, 2, 4, ... 1024, each compiled for the configuration's fixed
 * role assignment with the fewest devices that hold it.
 *
 * <p>The compiler predicts one prefill of the whole batch (TTFT) and one decode step at the last
 * position (TPOT, the slowest). In steady state a replica repeats: where prefill shares devices with
 * decode (GPU, AFD, LPU), each batch's decode waits for a prefill, so a request takes
 * TTFT + OSL·TPOT and the unit yields batch·OSL tokens in that time; where prefill runs on other
 * devices (DISAGG), prefill of the next batch overlaps decode, a request's tokens come at 1/TPOT and
 * the unit yields batch·OSL tokens per max(TTFT, OSL·TPOT).
 */
public final class CompilerFrontierSource implements FrontierSource {
    /** Batch sizes swept: powers of two up to {@value #MAX_BATCH}. */
    static final int MAX_BATCH = 4096;
    /**
     * With LPUs, powers of two up to {@value #MAX_LPU_BATCH}: the emulator prices a decode FFN of B rows
     * by lowering a program of B rows, which takes a minute at 4096 (llama-3-8b); beyond a few hundred
     * sequences the LPU FFN's time grows with B as the GPUs' does, so the frontier's useful end is below.
     */
    static final int MAX_LPU_BATCH = 1024;
    /** Devices offered per group: far more than any replica needs, so the compiler sizes the replica. */
    private static final int OFFERED = 1 << 16;

    private final Compiler compiler;
    private final Catalog catalog;

    public CompilerFrontierSource(Compiler compiler, Catalog catalog) {
        this.compiler = compiler;
        this.catalog = catalog;
    }

    /** With every installed cost provider (the LPU emulator's cycles when it is on the path). */
    public static CompilerFrontierSource installed() {
        return new CompilerFrontierSource(Compiler.withInstalledProviders(), new Catalog());
    }

    @Override
    public String name() {
        return "tandem compile (a catalog GPU alone: the continuous-batching serving model, one node per unit;"
                + " with LPUs: static plans, the emulator's scheduled cycles where installed)";
    }

    @Override
    public List<OperatingPoint> frontier(ModelGraph model, Configuration c, RequestShape requests) {
        if (c.kind() == Configuration.Kind.GPU) {
            List<OperatingPoint> steady = steadyState(model, c.gpu(), requests);
            if (!steady.isEmpty()) {
                return steady;
            }
        }
        DeviceGroup gpu = c.usesGpu() ? catalog.resolve(c.gpu(), OFFERED) : null;
        DeviceGroup lpu = c.usesLpu() ? catalog.resolve(c.lpu(), OFFERED) : null;
        Assignment roles = switch (c.kind()) {
            case GPU -> new Assignment(gpu, gpu, gpu);
            case AFD -> new Assignment(gpu, gpu, lpu);
            case DISAGG -> new Assignment(gpu, lpu, lpu);
            case LPU -> new Assignment(lpu, lpu, lpu);
        };
        Pool pool = new Pool(gpu != null && lpu != null ? List.of(gpu, lpu) : List.of(gpu != null ? gpu : lpu));
        // Batch sizes compile independently (the cost providers' caches are concurrent), in order of batch.
        int maxBatch = c.usesLpu() ? MAX_LPU_BATCH : MAX_BATCH;
        return IntStream.rangeClosed(0, Integer.numberOfTrailingZeros(maxBatch)).parallel().mapToObj(i -> {
            int batch = 1 << i;
            Workload w = new Workload(batch, requests.inputTokens(), requests.inputTokens() + requests.outputTokens());
            try {
                Plan plan = compiler.evaluate(model, pool, w, roles, Objective.lowestTpot());
                return point(plan, batch, requests, c.kind() == Configuration.Kind.DISAGG);
            } catch (CapacityException e) {
                return null; // this batch's KV cache or activations fit no layout: not an operating point
            }
        }).filter(java.util.Objects::nonNull).toList();
    }

    /** One node of {@code gpu} under the batched serving model; empty when the node cannot hold the model. */
    private List<OperatingPoint> steadyState(ModelGraph model, String gpu, RequestShape requests) {
        DeviceGroup one = catalog.resolve(gpu, 1);
        DeviceGroup node = one.withCount(one.nodeSize());
        Frontier f;
        try {
            f = compiler.frontier(model, new Pool(List.of(node)), Policy.SINGLE,
                    new ServingWorkload(requests.inputTokens(), requests.outputTokens()));
        } catch (CapacityException | PolicyException e) {
            return List.of();
        }
        List<OperatingPoint> out = new ArrayList<>();
        for (FrontierPoint p : f.points()) {
            int used = p.tensorParallel() * p.stages() * p.replicas();
            out.add(new OperatingPoint((int) Math.min(Integer.MAX_VALUE, p.concurrency()), p.tokensPerSecondPerUser(),
                    p.tokensPerSecondPerSystem(),
                    List.of(new OperatingPoint.DeviceCount(node.name(), false, used, node.spec().boardPowerWatts(), node.nodeSize())),
                    String.format(Locale.ROOT, "%s tp %d x %d x %d replicas, batch %d each; TTFT %.1f ms, TPOT %.3f ms (%s)",
                            node.name(), p.tensorParallel(), p.stages(), p.replicas(), p.batch(), p.ttftMs(), p.tpotMs(), p.source())));
        }
        return out;
    }

    private static OperatingPoint point(Plan plan, int batch, RequestShape requests, boolean prefillApart) {
        Predictions p = plan.predicted();
        double ttft = p.ttftMs() / 1e3, decode = requests.outputTokens() * p.tpotMs() / 1e3;
        double perRequest = prefillApart ? decode : ttft + decode;
        double cycle = prefillApart ? Math.max(ttft, decode) : ttft + decode;
        List<OperatingPoint.DeviceCount> devices = new ArrayList<>();
        StringBuilder layout = new StringBuilder();
        for (GroupLayout l : plan.layouts().values().stream().sorted(java.util.Comparator.comparing((GroupLayout x) -> x.group().name())).toList()) {
            DeviceGroup g = l.group();
            devices.add(new OperatingPoint.DeviceCount(g.name(), g.spec().kind() == DeviceKind.LPU, l.devicesUsed(),
                    g.spec().boardPowerWatts(), g.nodeSize()));
            layout.append(String.format(Locale.ROOT, "%s tp %d x %d; ", g.name(), l.tensorParallel(), l.stages()));
        }
        String detail = String.format(Locale.ROOT, "%sTTFT %.1f ms, TPOT %.3f ms", layout, p.ttftMs(), p.tpotMs());
        return new OperatingPoint(batch, requests.outputTokens() / perRequest, (double) batch * requests.outputTokens() / cycle,
                devices, detail);
    }
}
