package dev.tandem.device.lpu;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.DeviceSource;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Op;
import dev.tandem.runtime.compiler.OpCostProvider;
import dev.tandem.runtime.compiler.OpKind;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.model.LlamaConfig;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Attention and FFN op costs for the compiler: the cycles of exactly the fused block programs an
 * {@link LpuDevice} with tp fixed chips runs for them ({@link AttentionBlockLowering},
 * {@link FfnBlockLowering}), placed by the same placement code on empty chips. A block's cycles do
 * not depend on where its regions sit in SRAM (only on which accesses overlap, and every region is
 * its own allocation), so these predictions equal the device's measured cycles exactly.
 *
 * <ul>
 *   <li>Decode of one sequence (the op's rows = activationBytes / 2 dim = 1): one program, the new
 *       row at position kvPositions - 1, kvPositions = kvBytesRead / kvBytesPerTokenPerLayer.</li>
 *   <li>Prefill: the prompt's rows in chunks of {@link ModelGraph#PREFILL_CHUNK} at positions 0, 64, ..,
 *       as the executor runs them; the sum of the chunk programs. The op does not say how many
 *       sequences its rows belong to, so they are taken as one prompt (workload batch 1).</li>
 *   <li>Decode of several sequences answers empty (the roofline is used): its rows sit at their own
 *       positions in their own caches, which one block program does not run.</li>
 *   <li>Mixture-of-experts graphs, the embedding and the head answer empty, and so does a block
 *       that does not fit on tp chips on its own.</li>
 * </ul>
 * Results are cached per (preset, shape, format, tp, program), so the compiler's many calls for one
 * layer shape lower each program once.
 */
public final class LpuOpCostProvider implements OpCostProvider {
    /** What fixes one block program's cycles; maxPositions only decides whether it fits. */
    private record Key(ChipConfig chip, LlamaConfig config, WeightFormat format, int tp, OpKind kind, int pos0, int batch,
                       int maxPositions) {}

    private static final long NO_FIT = -1;

    private final Map<Key, Long> cycles = new ConcurrentHashMap<>();

    @Override
    public String name() { return "lpu-sim fused block cycles"; }

    @Override
    public OptionalDouble seconds(DeviceGroup group, ModelGraph graph, Op op, int tensorParallel) {
        if (group.source() != DeviceSource.EMULATED_LPU || graph.experts() > 1
                || (op.kind() != OpKind.ATTENTION && op.kind() != OpKind.FFN)) {
            return OptionalDouble.empty();
        }
        ChipConfig chip;
        try {
            chip = ChipConfig.preset(group.name());
        } catch (IllegalArgumentException e) {
            return OptionalDouble.empty();
        }
        LlamaConfig c = graph.config();
        long rowBytes = 2L * c.dim();
        if (op.activationBytes() <= 0 || op.activationBytes() % rowBytes != 0) {
            return OptionalDouble.empty();
        }
        int rows = Math.toIntExact(op.activationBytes() / rowBytes);
        if (op.phase() == Phase.DECODE && rows != 1) {
            return OptionalDouble.empty();
        }
        WeightFormat format = formatOf(graph);
        long perToken = graph.kvBytesPerTokenPerLayer();
        // One sequence: decode reads kvPositions rows, prefill writes its prompt's; the cache holds the context.
        int positions = op.kind() == OpKind.ATTENTION ? Math.toIntExact(op.kvBytesRead() / perToken) : 0;
        int maxPositions = op.kind() == OpKind.ATTENTION ? Math.toIntExact(Math.max(positions, op.kvBytes() / perToken)) : 0;
        long total = 0;
        if (op.phase() == Phase.DECODE) {
            total = cyclesOf(new Key(chip, c, format, tensorParallel, op.kind(), Math.max(0, positions - 1), 1, maxPositions));
        } else {
            for (int done = 0; done < rows; done += ModelGraph.PREFILL_CHUNK) {
                int batch = Math.min(ModelGraph.PREFILL_CHUNK, rows - done);
                long one = cyclesOf(new Key(chip, c, format, tensorParallel, op.kind(), op.kind() == OpKind.ATTENTION ? done : 0,
                        batch, maxPositions));
                if (one == NO_FIT) {
                    return OptionalDouble.empty();
                }
                total += one;
            }
        }
        return total == NO_FIT ? OptionalDouble.empty() : OptionalDouble.of(total / chip.clockHz());
    }

    /** The graph's format where the widths are whole blocks of it; toy widths run as f16, as the graph sizes them. */
    private static WeightFormat formatOf(ModelGraph graph) {
        LlamaConfig c = graph.config();
        int block = graph.format().blockSize();
        return c.dim() % block == 0 && c.hiddenDim() % block == 0 ? graph.format() : WeightFormat.F16;
    }

    private long cyclesOf(Key k) {
        return cycles.computeIfAbsent(k, LpuOpCostProvider::lower);
    }

    /** Cycles of one block program on fresh chips, or NO_FIT. */
    private static long lower(Key k) {
        List<SramAllocator> chips = new ArrayList<>();
        for (int i = 0; i < k.tp(); i++) {
            chips.add(new SramAllocator(k.chip().sramBytes()));
        }
        int[] ids = new int[k.tp()];
        Arrays.setAll(ids, i -> i);
        int maxBatch = Math.max(k.batch(), ModelGraph.PREFILL_CHUNK);
        try {
            BlockPlacement p = k.kind() == OpKind.ATTENTION
                    ? AttentionBlockLowering.place(k.chip(), chips, ids, k.config(), formats(k.format(), 4), Math.max(1, k.maxPositions()), maxBatch)
                    : FfnBlockLowering.place(k.chip(), chips, ids, k.config(), formats(k.format(), 3), maxBatch);
            // x as the executor holds it: a (maxBatch, dim) buffer on chip 0.
            long xBytes = 4L * maxBatch * k.config().dim();
            long xOffset = chips.get(0).allocate(xBytes);
            if (xOffset < 0) {
                return NO_FIT;
            }
            Allocation x = new Allocation(0, "x", xOffset, xBytes, 0, Allocation.FOREVER);
            StaticProgram program = k.kind() == OpKind.ATTENTION
                    ? AttentionBlockLowering.lower(k.chip(), k.config(), p, x, k.pos0(), k.batch())
                    : FfnBlockLowering.lower(k.chip(), k.config(), p, x, k.batch());
            return program.cycles();
        } catch (LpuCapacityException e) {
            return NO_FIT;
        }
    }

    private static WeightFormat[] formats(WeightFormat f, int n) {
        WeightFormat[] all = new WeightFormat[n];
        Arrays.fill(all, f);
        return all;
    }
}
