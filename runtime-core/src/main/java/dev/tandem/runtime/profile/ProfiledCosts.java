package dev.tandem.runtime.profile;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.DeviceSource;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Op;
import dev.tandem.runtime.compiler.OpCostProvider;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.model.LlamaConfig;

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
        if (group.source() != DeviceSource.PRESENT || tensorParallel != 1 || !op.hasRunShape() || graph.experts() > 1) {
            return OptionalDouble.empty();
        }
        Optional<ProfileModel> model = (store != null ? store : ProfileStore.shared()).model(profileKey(group));
        if (model.isEmpty()) {
            return OptionalDouble.empty();
        }
        ProfileModel p = model.get();
        if (!p.knows(graph.format()) || !p.knows(graph.outputFormat())) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of(seconds(p, graph, op));
    }

    /** The name a group's profile is stored under: the pool name, with its options when it has any. */
    public static String profileKey(DeviceGroup g) {
        return g.options().isEmpty() ? g.name() : g.name() + ":" + g.options();
    }

    /** An op's seconds on a profiled device. */
    static double seconds(ProfileModel p, ModelGraph graph, Op op) {
        LlamaConfig c = graph.config();
        boolean cold = graph.weightBytes() > p.cacheBytes();
        return switch (op.kind()) {
            case EMBED -> p.elementwise(OpKinds.EMBED, (long) op.rows() * c.dim());
            case HEAD -> p.elementwise(OpKinds.COPY, c.dim()) + p.elementwise(OpKinds.RMSNORM, c.dim())
                    + matmul(p, graph.outputFormat(), c.vocabSize(), c.dim(), op.rows(), cold)
                    + p.elementwise(OpKinds.READ, (long) op.rows() * c.vocabSize());
            case ATTENTION, FFN -> {
                if (op.phase() == Phase.DECODE) {
                    // A decode step's rows are one per sequence, each at the op's positions.
                    yield block(p, graph, op, op.rows(), op.positions() - 1, cold, true);
                }
                // Prefill: each sequence's prompt alone, in chunks of the executor's size.
                int prompt = op.positions();
                double one = 0;
                for (int done = 0; done < prompt; done += ModelGraph.PREFILL_CHUNK) {
                    one += block(p, graph, op, Math.min(ModelGraph.PREFILL_CHUNK, prompt - done), done, cold, false);
                }
                yield one * op.sequences();
            }
        };
    }

    /** One attention or FFN block over rows rows, the first at position start. */
    private static double block(ProfileModel p, ModelGraph graph, Op op, int rows, int start, boolean cold, boolean decode) {
        LlamaConfig c = graph.config();
        WeightFormat f = graph.format();
        double t = p.elementwise(OpKinds.RMSNORM, (long) rows * c.dim()) + p.elementwise(OpKinds.ADD, (long) rows * c.dim());
        if (op.kind() == dev.tandem.runtime.compiler.OpKind.FFN) {
            return t + 2 * matmul(p, f, c.hiddenDim(), c.dim(), rows, cold) + matmul(p, f, c.dim(), c.hiddenDim(), rows, cold)
                    + p.elementwise(OpKinds.SILU, (long) rows * c.hiddenDim());
        }
        int qDim = c.nHeads() * c.headDim();
        t += matmul(p, f, qDim, c.dim(), rows, cold) + 2 * matmul(p, f, c.kvDim(), c.dim(), rows, cold)
                + matmul(p, f, c.dim(), qDim, rows, cold)
                + p.elementwise(OpKinds.ROPE, (long) rows * qDim) + p.elementwise(OpKinds.ROPE, (long) rows * c.kvDim())
                + 2 * p.elementwise(OpKinds.COPY, (long) rows * c.kvDim());
        // A decode step of several sequences attends each row over its own cache: rows single-row attentions.
        t += decode ? rows * p.attention(start, 1, c.nHeads(), c.headDim()) : p.attention(start, rows, c.nHeads(), c.headDim());
        return t;
    }

    private static double matmul(ProfileModel p, WeightFormat f, long rows, long cols, int batch, boolean cold) {
        return p.matmul(f, rows, cols, batch, cold).orElseThrow(() -> new IllegalStateException("no " + f + " matmul in the profile"));
    }
}
