package dev.tandem.runtime.profile;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.DeviceSource;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Op;
import dev.tandem.runtime.compiler.OpCostProvider;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.model.LlamaConfig;

import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * Op costs of present devices from their calibrated profiles: each placeable op is rebuilt from the
 * kernels a device runs for it (the primitive blocks' sequence: rmsnorm, the four projections, rope,
 * the cache writes, attention, the residual add; an FFN's three matmuls and silu; prefill in its
 * chunks), and each kernel's time read off the profile. Weights are cold when the whole model is
 * larger than the device's last-level cache, as every layer then streams from memory.
 *
 * <p>Answers only for present devices with a profile on this machine, one device per op, dense FFNs
 * and ops that carry their run's shape; the roofline prices the rest, labelled uncalibrated.
 */
public final class ProfiledCosts implements OpCostProvider {
    private final ProfileStore store;

    /** The provider ServiceLoader finds: this machine's profiles. */
    public ProfiledCosts() { this(null); }

    /** Profiles from a given store (tests). */
    public ProfiledCosts(ProfileStore store) { this.store = store; }

    @Override
    public String name() { return "calibrated profile"; }

    @Override
    public OptionalDouble seconds(DeviceGroup group, ModelGraph graph, Op op, int tensorParallel) {
        return model(group, graph, op, tensorParallel).map(p -> OptionalDouble.of(seconds(p, graph, op))).orElse(OptionalDouble.empty());
    }

    @Override
    public Optional<Map<String, Double>> kernelSeconds(DeviceGroup group, ModelGraph graph, Op op, int tensorParallel) {
        return model(group, graph, op, tensorParallel).map(p -> {
            Map<String, Double> byLabel = new LinkedHashMap<>();
            kernels(p, graph, op).forEach((k, s) -> byLabel.put(k.label(), s));
            return byLabel;
        });
    }

    /** The profile that prices op on group, or empty when this provider leaves it to the roofline. */
    private Optional<ProfileModel> model(DeviceGroup group, ModelGraph graph, Op op, int tensorParallel) {
        if (group.source() != DeviceSource.PRESENT || tensorParallel != 1 || !op.hasRunShape() || graph.experts() > 1) {
            return Optional.empty();
        }
        return (store != null ? store : ProfileStore.shared()).model(profileKey(group))
                .filter(p -> p.knows(graph.format()) && p.knows(graph.outputFormat()));
    }

    /** The name a group's profile is stored under: the pool name, with its options when it has any. */
    public static String profileKey(DeviceGroup g) {
        return g.options().isEmpty() ? g.name() : g.name() + ":" + g.options();
    }

    /** An op's seconds on a profiled device. */
    static double seconds(ProfileModel p, ModelGraph graph, Op op) {
        return kernels(p, graph, op).values().stream().mapToDouble(Double::doubleValue).sum();
    }

    /**
     * What one run of op spends in each class of kernel on a profiled device (the classes it uses),
     * and {@link KernelClass#BETWEEN} the executor's own time around them ({@link #betweenKernels}).
     */
    static Map<KernelClass, Double> kernels(ProfileModel p, ModelGraph graph, Op op) {
        LlamaConfig c = graph.config();
        boolean cold = graph.weightBytes() > p.cacheBytes();
        Tally t = new Tally();
        switch (op.kind()) {
            case EMBED -> {
                t.add(KernelClass.EMBED, p.elementwise(OpKinds.EMBED, (long) op.rows() * c.dim()), 1);
                t.ops++;
            }
            case HEAD -> {
                t.add(KernelClass.COPY, p.elementwise(OpKinds.COPY, c.dim()), 1);
                t.add(KernelClass.RMSNORM, p.elementwise(OpKinds.RMSNORM, c.dim()), 1);
                t.add(KernelClass.MATMUL, matmul(p, graph.outputFormat(), c.vocabSize(), c.dim(), op.rows(), cold), 1);
                t.add(KernelClass.HOST_COPY, p.elementwise(OpKinds.READ, (long) op.rows() * c.vocabSize()), 1);
                t.ops++;
            }
            case ATTENTION, FFN -> {
                if (op.phase() == Phase.DECODE) {
                    // A decode step's rows are one per sequence, each at the op's positions.
                    block(t, 1, p, graph, op, op.rows(), op.positions() - 1, cold, true);
                } else {
                    // Prefill: each sequence's prompt alone, in chunks of the executor's size.
                    int prompt = op.positions();
                    for (int done = 0; done < prompt; done += ModelGraph.PREFILL_CHUNK) {
                        block(t, op.sequences(), p, graph, op, Math.min(ModelGraph.PREFILL_CHUNK, prompt - done), done, cold, false);
                    }
                }
            }
        }
        t.add(KernelClass.BETWEEN, betweenKernels(p, t.calls, t.ops), 0);
        return t.byClass;
    }

    /**
     * The executor's time outside the kernels of calls kernel calls in ops logged ops: each call
     * one dispatch (the profile's empty op: the trip through the device's call path that a block's
     * code makes between two kernels) and each op one marker (the executor times every op between
     * two {@code record()} markers; the tail of the first and the head of the second fall inside its
     * window). Calibrated terms, counted per call and per op, not a constant fitted to a model.
     */
    static double betweenKernels(ProfileModel p, long calls, long ops) {
        return calls * p.dispatchSeconds() + ops * p.markerSeconds();
    }

    /** Seconds by kernel class, summed in the order the kernels run, with the kernel calls and ops counted. */
    private static final class Tally {
        final Map<KernelClass, Double> byClass = new EnumMap<>(KernelClass.class);
        long calls, ops;

        void add(KernelClass k, double seconds, long kernelCalls) {
            byClass.merge(k, seconds, Double::sum);
            calls += kernelCalls;
        }
    }

    /** times runs of one attention or FFN block over rows rows, the first at position start: each run one logged op. */
    private static void block(Tally t, int times, ProfileModel p, ModelGraph graph, Op op, int rows, int start, boolean cold,
                              boolean decode) {
        LlamaConfig c = graph.config();
        WeightFormat f = graph.format();
        t.ops += times;
        t.add(KernelClass.RMSNORM, times * p.elementwise(OpKinds.RMSNORM, (long) rows * c.dim()), times);
        t.add(KernelClass.ELEMENTWISE, times * p.elementwise(OpKinds.ADD, (long) rows * c.dim()), times);
        if (op.kind() == dev.tandem.runtime.compiler.OpKind.FFN) {
            t.add(KernelClass.MATMUL, times * (2 * matmul(p, f, c.hiddenDim(), c.dim(), rows, cold) + matmul(p, f, c.dim(), c.hiddenDim(), rows, cold)),
                    3L * times);
            t.add(KernelClass.ELEMENTWISE, times * p.elementwise(OpKinds.SILU, (long) rows * c.hiddenDim()), times);
            return;
        }
        int qDim = c.nHeads() * c.headDim();
        t.add(KernelClass.MATMUL, times * (matmul(p, f, qDim, c.dim(), rows, cold) + 2 * matmul(p, f, c.kvDim(), c.dim(), rows, cold)
                + matmul(p, f, c.dim(), qDim, rows, cold)), 4L * times);
        t.add(KernelClass.ROPE, times * (p.elementwise(OpKinds.ROPE, (long) rows * qDim) + p.elementwise(OpKinds.ROPE, (long) rows * c.kvDim())),
                2L * times);
        t.add(KernelClass.COPY, times * 2 * p.elementwise(OpKinds.COPY, (long) rows * c.kvDim()), 2L * times);
        // A decode step of several sequences attends each row over its own cache: rows single-row attentions.
        t.add(KernelClass.ATTENTION, times * (decode ? rows * p.attention(start, 1, c.nHeads(), c.headDim())
                : p.attention(start, rows, c.nHeads(), c.headDim())), times);
    }

    private static double matmul(ProfileModel p, WeightFormat f, long rows, long cols, int batch, boolean cold) {
        return p.matmul(f, rows, cols, batch, cold).orElseThrow(() -> new IllegalStateException("no " + f + " matmul in the profile"));
    }
}
