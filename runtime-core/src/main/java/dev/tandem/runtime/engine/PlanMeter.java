package dev.tandem.runtime.engine;

import dev.tandem.runtime.compiler.Assignment;
import dev.tandem.runtime.compiler.BatchShape;
import dev.tandem.runtime.compiler.Compiler;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Op;
import dev.tandem.runtime.compiler.OpKind;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.compiler.Workload;
import dev.tandem.runtime.exec.PlanForward.Executed;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Holds an engine's steps against its plan: each device's busy time, each decode-only step's
 * wall time beside the compiler's prediction for that step's rows and furthest position
 * ({@link Compiler#decodeStepSeconds}), and each attention and FFN block on a cycle-counting device
 * against the cycles its cost provider predicts for exactly the rows it ran. The step thread
 * writes; readers (metrics) take {@link #stats()} and {@link #busySeconds()} at any time.
 */
final class PlanMeter {
    private record StepKey(int rows, int context) {}

    private final Plan plan;
    private final ModelGraph graph;
    private final Compiler compiler;
    private final String description;
    private final Map<StepKey, Double> predictedSteps = new HashMap<>();
    private final Map<String, Long> busyNanos = new ConcurrentHashMap<>();
    private final Map<String, String> deviceOfStage;
    private volatile PlanStats stats;

    /** @param deviceOfStage the plan's stage labels and their devices' names, in order (every label gets a busy time) */
    PlanMeter(Plan plan, ModelGraph graph, Compiler compiler, Map<String, String> deviceOfStage) {
        this.plan = plan;
        this.graph = graph;
        this.compiler = compiler;
        this.deviceOfStage = new LinkedHashMap<>(deviceOfStage);
        this.description = plan.chosen() + " on " + plan.pool() + ": " + plan.roles();
        deviceOfStage.keySet().forEach(label -> busyNanos.put(label, 0L));
        this.stats = new PlanStats(description, 0, 0, 0, 0, 0, 0, null);
    }

    /**
     * One step that ran: its ops' log (null where the forward keeps none: one device, whose busy time is the step's),
     * its decode rows, its prefill rows and the furthest position any decode row was at.
     */
    void record(List<Executed> ops, int decodeRows, int prefillRows, int furthestPosition, long wallNanos, boolean microBatched) {
        PlanStats s = stats;
        long exact = s.exactBlocks(), inexact = s.inexactBlocks();
        String firstInexact = s.firstInexact();
        if (ops == null) {
            busyNanos.merge(deviceOfStage.keySet().iterator().next(), wallNanos, Long::sum);
        } else {
            for (Executed e : ops) {
                if (e.isTransfer()) {
                    continue;
                }
                busyNanos.merge(e.track(), e.nanos(), Long::sum);
                if (e.cycles().isPresent() && (e.kind() == OpKind.ATTENTION || e.kind() == OpKind.FFN)) {
                    long predicted = predictedCycles(e);
                    if (predicted == e.cycles().getAsLong()) {
                        exact++;
                    } else {
                        inexact++;
                        if (firstInexact == null) {
                            firstInexact = e.what() + " on " + e.track() + " at " + e.batchShape() + ": " + e.cycles().getAsLong()
                                    + " cycles, predicted " + predicted;
                        }
                    }
                }
            }
        }
        long decodeSteps = s.decodeSteps();
        double predicted = s.predictedSeconds(), measured = s.measuredSeconds();
        if (prefillRows == 0 && decodeRows > 0) {
            decodeSteps++;
            predicted += predictedStep(decodeRows, furthestPosition + 1);
            measured += wallNanos / 1e9;
        }
        stats = new PlanStats(description, decodeSteps, predicted, measured, s.microBatchedSteps() + (microBatched ? 1 : 0), exact,
                inexact, firstInexact);
    }

    PlanStats stats() { return stats; }

    /** Seconds each device has spent in the engine's ops (emulated time on an emulated device), by stage label. */
    Map<String, Double> busySeconds() {
        Map<String, Double> out = new LinkedHashMap<>();
        deviceOfStage.keySet().forEach(label -> out.put(label, busyNanos.getOrDefault(label, 0L) / 1e9));
        return out;
    }

    private double predictedStep(int rows, int context) {
        return predictedSteps.computeIfAbsent(new StepKey(rows, context), k -> compiler.decodeStepSeconds(graph, plan, k.rows(), k.context()));
    }

    /**
     * The op's cycles as its device's cost provider prices its exact rows: one step of every run
     * together (a decode op over the paged pool, whichever route it ran on), on the role's group as
     * the compiler priced it.
     */
    private long predictedCycles(Executed e) {
        Assignment roles = plan.roles();
        DeviceGroup g = e.phase() == Phase.PREFILL ? roles.prefill() : e.kind() == OpKind.FFN ? roles.ffn() : roles.attention();
        int positions = e.batchShape().runs().stream().mapToInt(BatchShape.Run::positions).max().orElse(1);
        Op op = graph.op(Phase.DECODE, e.kind(), e.layer(), new Workload(e.batch(), 1, positions)).withBatchShape(e.batchShape());
        double seconds = compiler.costModel().op(g, graph, op, plan.layoutOf(g).tensorParallel()).seconds();
        return Math.round(seconds * g.spec().clockHz());
    }
}
