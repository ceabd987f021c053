package dev.tandem.device.lpu;

import dev.tandem.device.lpu.ModelShape.Tensor;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.device.DeviceMemoryException;
import dev.tandem.runtime.model.LlamaConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * Where a Llama model lives on N chips, and in which order a stage's SRAM fills: the one object the
 * whole-step path ({@link LpuLlama}), the predictions and the compiler's cost provider share, so
 * all three run (or price) the programs an {@link LpuDevice} runs for a plan's executor.
 *
 * <p>Stages: chips form nodes of {@link ChipConfig#chipsPerNode()}; each node is one pipeline stage
 * whose blocks split over all its chips (tp = the node's chips), as an LPU group's stage in a plan.
 * The layers' blocks (2l attention, 2l+1 FFN) are cut into contiguous stages with bytes in
 * proportion to each node's chips, as far as they fit where the fill order puts them: the last
 * stage first takes the trailing blocks that fit next to the output table, then the other stages
 * take theirs in order. A stage may end between a layer's attention and its FFN, and a stage whose
 * table leaves no room may hold no block at all.
 *
 * <p>Fill order of a stage (the executor's, see {@link #open}): the (64, dim) x buffer on chip 0;
 * on the first stage the embedding table; on the last the output table (the embedding itself when
 * tied and on the same stage), then the final norm, last-row and logits buffers; then the stage's
 * blocks, attention with its KV cache and both with scratch for 64 rows (a mixture's MoE FFN block
 * with every expert, the router and scratch for one row: its rows run one at a time), in layer order.
 */
public final class StageLayout {
    /** Rows a stage's x buffer and block scratch hold: the executor's prefill chunk. */
    static final int ROWS = ModelGraph.PREFILL_CHUNK;

    /**
     * A node's chips [firstChip, +tp) and the blocks [firstBlock, endBlock) it runs.
     * @param index the stage's place in the pipeline
     */
    public record Stage(int index, int firstChip, int tp, int firstBlock, int endBlock) {
        public static boolean isAttention(int block) { return block % 2 == 0; }

        public static int layerOf(int block) { return block / 2; }
    }

    private final ModelShape shape;
    private final ChipConfig config;
    private final int chips;
    private final int maxPositions;
    private final List<Stage> stages = new ArrayList<>();
    private final List<Filled> placed = new ArrayList<>();

    /**
     * @throws LpuCapacityException when the model does not fit the chips; it says how many would do
     */
    public StageLayout(ModelShape shape, ChipConfig config, int chips, int maxPositions) {
        this(shape, config, chips, maxPositions, true);
    }

    private StageLayout(ModelShape shape, ChipConfig config, int chips, int maxPositions, boolean sayHowMany) {
        if (chips < 1 || maxPositions < 1) {
            throw new IllegalArgumentException("need at least one chip and one position, got " + chips + " and " + maxPositions);
        }
        this.shape = shape;
        this.config = config;
        this.chips = chips;
        this.maxPositions = maxPositions;
        try {
            try {
                cut(false);
            } catch (DeviceMemoryException e) {
                stages.clear();
                placed.clear();
                cut(true);
            }

        } catch (DeviceMemoryException e) {
            if (!sayHowMany) {
                throw e;
            }
            throw new LpuCapacityException("the model (" + shape.weightBytes() + " bytes of weights, KV caches of " + maxPositions
                    + " positions)", config, chips, fewestChips(shape, config, maxPositions), shape.weightBytes(),
                    (long) chips * config.sramBytes());
        }
    }

    public ModelShape shape() { return shape; }

    public ChipConfig config() { return config; }

    public int chips() { return chips; }

    public int maxPositions() { return maxPositions; }

    public List<Stage> stages() { return stages; }

    /** Every stage's chips as placed, in stage order (offsets only; the bytes are the caller's to write). */
    List<Filled> placed() { return placed; }

    /** Whether the model fits this many chips. */
    public static boolean fits(ModelShape shape, ChipConfig config, int chips, int maxPositions) {
        try {
            new StageLayout(shape, config, chips, maxPositions, false);
            return true;
        } catch (DeviceMemoryException e) {
            return false;
        }
    }

    /** The fewest chips that hold the model: a bisection between a count that does not fit and one that does. */
    public static int fewestChips(ModelShape shape, ChipConfig config, int maxPositions) {
        int lo = (int) Math.max(0, Math.min(LpuDevice.MAX_CHIPS, shape.weightBytes() / config.sramBytes()) - 1), hi = Math.max(1, lo);
        while (!fits(shape, config, hi, maxPositions)) {
            lo = hi;
            if (hi >= LpuDevice.MAX_CHIPS) {
                throw new IllegalArgumentException("the model does not fit on " + LpuDevice.MAX_CHIPS + " " + config.name()
                        + " chips: a node of " + config.chipsPerNode() + " holds none of its largest blocks (with 64-row scratch)");
            }
            hi = Math.min(LpuDevice.MAX_CHIPS, hi * 2);
        }
        // fits(hi), and lo is 0 or does not fit: the smallest count that fits above some count that does not.
        while (hi - lo > 1) {
            int mid = (lo + hi) >>> 1;
            if (fits(shape, config, mid, maxPositions)) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        return hi;
    }

    // ---------------------------------------------------------------- the cut

    /**
     * Proportional: as the class comment says. Packed (when that leaves too much for the last
     * stage): every stage takes all the blocks that fit, in order, and the last the rest.
     */
    private void cut(boolean packed) {
        LlamaConfig c = shape.config();
        int perNode = config.chipsPerNode();
        int blocks = 2 * c.nLayers();
        int usedNodes = Math.min((chips + perNode - 1) / perNode, blocks);
        double[] cost = blockCosts(Math.min(chips, perNode));
        double total = shape.bytes(Tensor.EMBEDDING, 0) + (shape.tiedOutput() ? 0 : shape.bytes(Tensor.OUTPUT, 0));
        for (double b : cost) {
            total += b;
        }
        int lastLo = (usedNodes - 1) * perNode, lastTp = Math.min(chips, lastLo + perNode) - lastLo;
        int lastFirst = 0;
        if (packed) {
            lastFirst = blocks;
        } else if (usedNodes > 1) {
            // The last stage's share, from the end, as far as it fits next to the output table.
            double target = total * lastTp / Math.min(chips, usedNodes * perNode) - shape.bytes(Tensor.OUTPUT, 0);
            Filled probe = open(config, lastTp, c.dim());
            probe.placeHead(shape.format(Tensor.OUTPUT, 0), false, c.vocabSize(), c.dim(), true);
            double done = 0;
            lastFirst = blocks;
            while (lastFirst > usedNodes - 1 && Math.abs(done + cost[lastFirst - 1] - target) <= Math.abs(done - target)
                    && tryPlace(probe, lastFirst - 1)) {
                done += cost[--lastFirst];
            }
        }
        int first = 0, chipsSoFar = 0;
        double before = shape.bytes(Tensor.EMBEDDING, 0), done = before;
        for (int b = 0; b < lastFirst; b++) {
            before += cost[b];
        }
        for (int n = 0; n < usedNodes - 1; n++) {
            int lo = n * perNode, tp = Math.min(chips, lo + perNode) - lo;
            chipsSoFar += tp;
            double target = before * chipsSoFar / lastLo;
            Filled f = openStage(n, usedNodes, tp);
            int end = first;
            boolean all = !packed && n == usedNodes - 2;
            // Take blocks while the next one brings the running total closer to this node's target, and fits.
            while (end < lastFirst && (all || packed || Math.abs(done + cost[end] - target) <= Math.abs(done - target))) {
                if (!tryPlace(f, end)) {
                    if (all) {
                        throw new LpuCapacityException("blocks up to " + lastFirst, config, chips, chips + 1, 0, 0);
                    }
                    break;
                }
                done += cost[end++];
            }
            stages.add(new Stage(n, lo, tp, first, end));
            placed.add(f);
            first = end;
        }
        Filled last = openStage(usedNodes - 1, usedNodes, lastTp);
        for (int b = first; b < blocks; b++) {
            place(last, b);
        }
        stages.add(new Stage(usedNodes - 1, lastLo, lastTp, first, blocks));
        placed.add(last);
    }

    /** Bytes each block places on a node of tp chips (a mixture's FFN with every expert). */
    private double[] blockCosts(int tp) {
        double[] cost = new double[2 * shape.config().nLayers()];
        ChipMemory node = new ChipMemory(config, tp);
        for (int b = 0; b < cost.length; b++) {
            int layer = Stage.layerOf(b);
            boolean attention = Stage.isAttention(b);
            cost[b] = node.dryRunBytes((a, ids) -> placeBlock(a, ids, layer, attention));
        }
        return cost;
    }

    /** A stage opened in the fill order up to its blocks: x, then the embedding (first stage), then the head (last stage). */
    private Filled openStage(int index, int stages, int tp) {
        LlamaConfig c = shape.config();
        Filled f = open(config, tp, c.dim());
        if (index == 0) {
            f.placeEmbedding(shape.format(Tensor.EMBEDDING, 0), c.vocabSize(), c.dim());
        }
        if (index == stages - 1) {
            f.placeHead(shape.format(Tensor.OUTPUT, 0), shape.tiedOutput() && index == 0, c.vocabSize(), c.dim(), true);
        }
        return f;
    }

    /** Places block b on the stage; a failure leaves the stage as it was. */
    private void place(Filled f, int b) {
        int layer = Stage.layerOf(b);
        boolean attention = Stage.isAttention(b);
        f.blocks.add(f.memory.placeBlock((a, ids) -> placeBlock(a, ids, layer, attention)));
    }

    private boolean tryPlace(Filled f, int b) {
        try {
            place(f, b);
            return true;
        } catch (DeviceMemoryException e) {
            return false;
        }
    }

    /** The formats of a block's matrices in the order its placement takes them (a mixture's router first). */
    private WeightFormat[] formats(int layer, boolean attention) {
        if (attention) {
            return new WeightFormat[] {shape.format(Tensor.WQ, layer), shape.format(Tensor.WK, layer), shape.format(Tensor.WV, layer),
                    shape.format(Tensor.WO, layer)};
        }
        WeightFormat[] ffn = {shape.format(Tensor.W1, layer), shape.format(Tensor.W3, layer), shape.format(Tensor.W2, layer)};
        return shape.experts() == 1 ? ffn : new WeightFormat[] {shape.format(Tensor.ROUTER, layer), ffn[0], ffn[1], ffn[2]};
    }

    /** One block (a mixture's FFN: every expert and the router) on the given chips. */
    private BlockPlacement placeBlock(List<SramAllocator> allocators, int[] ids, int layer, boolean attention) {
        if (attention) {
            return AttentionBlockLowering.place(config, allocators, ids, shape.config(), formats(layer, true), maxPositions, ROWS);
        }
        return shape.experts() == 1
                ? FfnBlockLowering.place(config, allocators, ids, shape.config(), formats(layer, false), ROWS)
                : MoeFfnBlockLowering.place(config, allocators, ids, shape.config(),
                        MoeFfnBlockLowering.mixtureOf(shape.config(), shape.experts(), shape.activeExperts()), formats(layer, false));
    }

    // ---------------------------------------------------------------- the fill order

    /** A stage's chips as the executor opens them: tp fresh chips with the (64, dim) x buffer on chip 0. */
    static Filled open(ChipConfig config, int tp, int dim) {
        ChipMemory m = new ChipMemory(config, tp);
        return new Filled(m, m.buffer("x", (long) ROWS * dim));
    }

    /** What a stage holds, placed in the fill order; null where the stage holds no such thing. */
    static final class Filled {
        final ChipMemory memory;
        final Allocation x;
        OpPrograms.Table embedding, output;
        Allocation finalNorm, last, logits;
        /** Per block of the stage, in block order: attention, FFN (a mixture's MoE block). */
        final List<BlockPlacement> blocks = new ArrayList<>();

        Filled(ChipMemory memory, Allocation x) {
            this.memory = memory;
            this.x = x;
        }

        /** The embedding table (a stage that embeds). */
        void placeEmbedding(WeightFormat format, int vocab, int dim) {
            embedding = memory.placeTable(format, vocab, dim);
        }

        /** SRAM kept free for the head's matmul scratch, so that blocks placed later cannot take it. */
        private final List<Allocation> headScratch = new ArrayList<>();

        /**
         * The output table (unless tied to this stage's embedding), then the head's buffers, then a
         * reservation of the scratch the head's matmul takes (per piece off chip 0: its input row and
         * its slice of the logits there, and that slice again on chip 0), released around the matmul.
         */
        void placeHead(WeightFormat format, boolean tiedHere, int vocab, int dim) {
            placeHead(format, tiedHere, vocab, dim, false);
        }

        /**
         * The same; with roomFirst, room for the matmul's scratch is kept on every chip before the
         * table goes in (a table that fills chips whole would otherwise leave none next to it).
         */
        void placeHead(WeightFormat format, boolean tiedHere, int vocab, int dim, boolean roomFirst) {
            List<Allocation> room = new ArrayList<>();
            if (roomFirst && !tiedHere) {
                OpPrograms.Scratch keep = memory.scratch(room);
                for (int chip = 0; chip < memory.chips(); chip++) {
                    keep.allocate(chip, 4L * dim + 4L * vocab);
                }
            }
            try {
                output = tiedHere ? embedding : memory.placeTable(format, vocab, dim);
            } finally {
                memory.release(room);
            }
            finalNorm = memory.buffer("finalNorm", dim);
            last = memory.buffer("last", dim);
            logits = memory.buffer("logits", vocab);
            reserveHeadScratch();
        }

        private void reserveHeadScratch() {
            OpPrograms.Scratch reserve = memory.scratch(headScratch);
            for (OpPrograms.Piece p : output.pieces()) {
                if (p.chip() != 0) {
                    reserve.allocate(p.chip(), 4L * output.cols());
                    reserve.allocate(p.chip(), 4L * p.rows());
                    reserve.allocate(0, 4L * p.rows());
                }
            }
        }

        /** The head's matmul program, its scratch in the reserved room. */
        StaticProgram headMatmul(ChipConfig config, int tp) {
            memory.release(headScratch);
            headScratch.clear();
            List<Allocation> held = new ArrayList<>();
            try {
                return OpPrograms.matmul(config, tp, output, last, logits, 1, memory.scratch(held));
            } finally {
                memory.release(held);
                reserveHeadScratch();
            }
        }
    }
}
