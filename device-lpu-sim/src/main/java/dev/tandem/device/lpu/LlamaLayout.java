package dev.tandem.device.lpu;

import dev.tandem.device.lpu.ModelShape.Tensor;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.model.LlamaConfig;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Where a Llama model lives on N chips. Chips form nodes of {@link ChipConfig#chipsPerNode()}; the
 * layers' blocks (attention, FFN) are cut into contiguous stages, one per node, with bytes in
 * proportion to the node's chips (pipeline parallel), and inside a node every matrix is split over the node's chips (tensor parallel):
 * <ul>
 *   <li>Wq, Wk, Wv as one fused row range (each chip computes a slice of q|k|v, then all-gather);</li>
 *   <li>Wo by rows (slice of the output, then all-gather);</li>
 *   <li>W1 and W3 by rows over one hidden range per chip, W2 by the same columns, so silu·mul is
 *       local and the W2 partial sums meet in an all-reduce over C2C;</li>
 *   <li>the embedding on the first stage and the output layer on the last, by rows.</li>
 * </ul>
 * Activations and the KV cache are replicated on the chips of a node (attention runs on each), so a
 * node's C2C traffic per layer is three vectors per chip. Every allocation lives for the whole run.
 */
public final class LlamaLayout {
    /** One chip's slice of one matrix: rows [rowStart, +rows) and cols [colStart, +cols), stored row-major at sram. */
    public record Shard(Tensor tensor, int layer, int expert, int chip, int rowStart, int rows, int colStart, int cols,
                        WeightFormat format, long sram) {
        public long bytes() { return format.bytesFor((long) rows * cols); }
    }

    /**
     * A node's chips and the blocks [firstBlock, endBlock) it runs. Block 2l is layer l's attention
     * (with its residual), block 2l+1 its FFN: a stage may end between the two, which is what lets
     * a 70B model, whose layers are bigger than a node's SRAM holds twice, pipeline over 72 nodes.
     */
    public record Stage(int[] chips, int firstBlock, int endBlock) {
        public int tp() { return chips.length; }

        public static boolean isAttention(int block) { return block % 2 == 0; }

        public static int layerOf(int block) { return block / 2; }
    }

    private record ShardKey(int chip, Tensor tensor, int layer, int expert) {}

    private final ModelShape shape;
    private final ChipConfig config;
    private final int chips;
    private final int maxPositions;
    private final List<Stage> stages = new ArrayList<>();
    private final Map<ShardKey, List<Shard>> shards = new HashMap<>();
    private final List<Allocation> allocations = new ArrayList<>();
    private final Map<String, Long> named = new HashMap<>();
    private final long[] used;
    private long weightBytesPlaced;

    /**
     * @throws LpuCapacityException when the weights (with the KV cache of maxPositions and the
     *                              activations) do not fit; it says how many chips would
     */
    public LlamaLayout(ModelShape shape, ChipConfig config, int chips, int maxPositions) {
        this.shape = shape;
        this.config = config;
        this.chips = chips;
        this.maxPositions = maxPositions;
        this.used = new long[chips];
        if (chips < 1) {
            throw new IllegalArgumentException("need at least one chip, got " + chips);
        }
        plan();
        for (int c = 0; c < chips; c++) {
            if (used[c] > config.sramBytes()) {
                long total = 0;
                for (long u : used) {
                    total += u;
                }
                throw new LpuCapacityException("the model (" + shape.weightBytes() + " bytes of weights, KV cache of "
                        + maxPositions + " positions) on chip " + c + " (" + used[c] + " bytes)", config, chips,
                        fewestChips(shape, config, maxPositions), total, (long) chips * config.sramBytes());
            }
        }
    }

    /** Whether the model fits on this many chips. */
    public static boolean fits(ModelShape shape, ChipConfig config, int chips, int maxPositions) {
        LlamaLayout probe = new LlamaLayout(shape, config, chips, maxPositions, true);
        for (long u : probe.used) {
            if (u > config.sramBytes()) {
                return false;
            }
        }
        return true;
    }

    /** The fewest chips that hold the model. */
    public static int fewestChips(ModelShape shape, ChipConfig config, int maxPositions) {
        int n = (int) Math.max(1, Math.min(Integer.MAX_VALUE, shape.weightBytes() / config.sramBytes()));
        for (int limit = 1 << 20; n <= limit; n++) {
            if (fits(shape, config, n, maxPositions)) {
                return n;
            }
        }
        throw new IllegalArgumentException("the model does not fit on any number of " + config.name() + " chips");
    }

    private LlamaLayout(ModelShape shape, ChipConfig config, int chips, int maxPositions, boolean probeOnly) {
        this.shape = shape;
        this.config = config;
        this.chips = chips;
        this.maxPositions = maxPositions;
        this.used = new long[chips];
        plan();
    }

    public ModelShape shape() { return shape; }

    public ChipConfig config() { return config; }

    public int chips() { return chips; }

    public int maxPositions() { return maxPositions; }

    public List<Stage> stages() { return stages; }

    public List<Allocation> allocations() { return allocations; }

    /** The shards of a tensor on a chip (empty when the chip holds none). */
    public List<Shard> shards(int chip, Tensor t, int layer, int expert) {
        return shards.getOrDefault(new ShardKey(chip, t, layer, expert), List.of());
    }

    /** Every shard, for loading weights. */
    public List<Shard> allShards() {
        List<Shard> all = new ArrayList<>();
        shards.values().forEach(all::addAll);
        return all;
    }

    /** Offset of a named region (e.g. "x", "kv.k.3", "norm.attn.3") on a chip. */
    public long offset(int chip, String name) {
        Long o = named.get(chip + ":" + name);
        if (o == null) {
            throw new IllegalArgumentException("no region " + name + " on chip " + chip);
        }
        return o;
    }

    public long used(int chip) { return used[chip]; }

    /** The chip holding the logits after a step. */
    public int logitsChip() { return stages.getLast().chips()[0]; }

    private long alloc(int chip, String name, long bytes) {
        long offset = (used[chip] + 63) & ~63L;
        used[chip] = offset + bytes;
        allocations.add(new Allocation(chip, name, offset, bytes, 0, Allocation.FOREVER));
        named.put(chip + ":" + name, offset);
        return offset;
    }

    private void addShard(Tensor t, int layer, int expert, int chip, int rowStart, int rows, int colStart, int cols) {
        if (rows <= 0 || cols <= 0) {
            return;
        }
        WeightFormat f = shape.format(t, layer);
        long bytes = f.bytesFor((long) rows * cols);
        long off = alloc(chip, t + "." + layer + "." + expert + "." + rowStart + "." + colStart, bytes);
        weightBytesPlaced += bytes;
        shards.computeIfAbsent(new ShardKey(chip, t, layer, expert), k -> new ArrayList<>())
                .add(new Shard(t, layer, expert, chip, rowStart, rows, colStart, cols, f, off));
    }

    /** Boundaries splitting [0, total) into parts near-equal ranges whose inner boundaries are multiples of align. */
    static int[] split(int total, int parts, int align) {
        int[] b = new int[parts + 1];
        for (int i = 1; i < parts; i++) {
            long ideal = (long) total * i / parts;
            b[i] = (int) Math.min(total, Math.round(ideal / (double) align) * align);
            b[i] = Math.max(b[i], b[i - 1]);
        }
        b[parts] = total;
        return b;
    }

    private void plan() {
        LlamaConfig c = shape.config();
        int nodes = (chips + config.chipsPerNode() - 1) / config.chipsPerNode();
        int blocks = 2 * c.nLayers();
        int usedNodes = Math.min(nodes, blocks);
        // Blocks in proportion to each node's chips, weighed by their bytes, cut at whole blocks.
        double[] cost = new double[blocks];
        double total = 0;
        long kvBytes0 = 2L * maxPositions * c.kvDim() * Float.BYTES;
        for (int b = 0; b < blocks; b++) {
            int l = Stage.layerOf(b);
            cost[b] = Stage.isAttention(b)
                    ? bytesOf(Tensor.WQ, l) + bytesOf(Tensor.WK, l) + bytesOf(Tensor.WV, l) + bytesOf(Tensor.WO, l)
                            + (double) kvBytes0 * config.chipsPerNode()
                    : shape.experts() * (double) (bytesOf(Tensor.W1, l) + bytesOf(Tensor.W2, l) + bytesOf(Tensor.W3, l));
            total += cost[b];
        }
        cost[0] += bytesOf(Tensor.EMBEDDING, 0);
        cost[blocks - 1] += bytesOf(Tensor.OUTPUT, 0);
        total += bytesOf(Tensor.EMBEDDING, 0) + bytesOf(Tensor.OUTPUT, 0);
        int chipsInUsedNodes = Math.min(chips, usedNodes * config.chipsPerNode());
        int first = 0, chipsSoFar = 0;
        double done = 0;
        for (int n = 0; n < usedNodes; n++) {
            int lo = n * config.chipsPerNode(), hi = Math.min(chips, lo + config.chipsPerNode());
            chipsSoFar += hi - lo;
            double target = total * chipsSoFar / chipsInUsedNodes;
            int end = first;
            // Take blocks while the next one brings the running total closer to this node's target.
            while (end < blocks && (end == first || Math.abs(done + cost[end] - target) <= Math.abs(done - target))) {
                done += cost[end++];
            }
            if (n == usedNodes - 1) {
                end = blocks;
            }
            end = Math.min(end, blocks - (usedNodes - 1 - n));
            done = 0;
            for (int b = 0; b < end; b++) {
                done += cost[b];
            }
            int[] ids = new int[hi - lo];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = lo + i;
            }
            stages.add(new Stage(ids, first, end));
            first = end;
        }
        int qDim = c.nHeads() * c.headDim(), kvDim = c.kvDim();
        for (Stage s : stages) {
            int tp = s.tp();
            for (int b = s.firstBlock(); b < s.endBlock(); b++) {
                int l = Stage.layerOf(b);
                boolean attention = Stage.isAttention(b);
                int[] qkv = split(qDim + 2 * kvDim, tp, 1);
                int[] wo = split(c.dim(), tp, 1);
                int[] hidden = split(c.hiddenDim(), tp, shape.format(Tensor.W2, l).blockSize());
                for (int i = 0; i < tp; i++) {
                    int chip = s.chips()[i];
                    if (attention) {
                        addRows(Tensor.WQ, l, chip, qkv[i], qkv[i + 1], 0, qDim);
                        addRows(Tensor.WK, l, chip, qkv[i], qkv[i + 1], qDim, kvDim);
                        addRows(Tensor.WV, l, chip, qkv[i], qkv[i + 1], qDim + kvDim, kvDim);
                        addShard(Tensor.WO, l, 0, chip, wo[i], wo[i + 1] - wo[i], 0, qDim);
                        continue;
                    }
                    for (int e = 0; e < shape.experts(); e++) {
                        addShard(Tensor.W1, l, e, chip, hidden[i], hidden[i + 1] - hidden[i], 0, c.dim());
                        addShard(Tensor.W3, l, e, chip, hidden[i], hidden[i + 1] - hidden[i], 0, c.dim());
                        addShard(Tensor.W2, l, e, chip, 0, c.dim(), hidden[i], hidden[i + 1] - hidden[i]);
                    }
                    if (shape.experts() > 1) {
                        addShard(Tensor.ROUTER, l, 0, chip, 0, shape.experts(), 0, c.dim());
                    }
                }
            }
        }
        Stage firstStage = stages.getFirst(), lastStage = stages.getLast();
        int[] vocabFirst = split(c.vocabSize(), firstStage.tp(), 1);
        int[] vocabLast = split(c.vocabSize(), lastStage.tp(), 1);
        for (int i = 0; i < firstStage.tp(); i++) {
            addShard(Tensor.EMBEDDING, 0, 0, firstStage.chips()[i], vocabFirst[i], vocabFirst[i + 1] - vocabFirst[i], 0, c.dim());
        }
        for (int i = 0; i < lastStage.tp(); i++) {
            int chip = lastStage.chips()[i];
            if (shape.tiedOutput() && firstStage == lastStage) {
                // The embedding shards on these chips are the output layer's rows already.
                for (Shard sh : shards(chip, Tensor.EMBEDDING, 0, 0)) {
                    shards.computeIfAbsent(new ShardKey(chip, Tensor.OUTPUT, 0, 0), k -> new ArrayList<>()).add(sh);
                }
            } else {
                addShard(Tensor.OUTPUT, 0, 0, chip, vocabLast[i], vocabLast[i + 1] - vocabLast[i], 0, c.dim());
            }
        }
        // Norms, rope frequencies, KV caches (replicated in a node) and activation scratch.
        long kvBytes = (long) maxPositions * kvDim * Float.BYTES;
        for (Stage s : stages) {
            for (int chip : s.chips()) {
                for (int b = s.firstBlock(); b < s.endBlock(); b++) {
                    int l = Stage.layerOf(b);
                    if (Stage.isAttention(b)) {
                        alloc(chip, "norm.attn." + l, (long) c.dim() * Float.BYTES);
                        alloc(chip, "kv.k." + l, kvBytes);
                        alloc(chip, "kv.v." + l, kvBytes);
                    } else {
                        alloc(chip, "norm.ffn." + l, (long) c.dim() * Float.BYTES);
                    }
                }
                alloc(chip, "ropefreq", (long) c.headDim() / 2 * Float.BYTES);
                alloc(chip, "x", (long) c.dim() * Float.BYTES);
                alloc(chip, "qkv", (long) (qDim + 2 * kvDim) * Float.BYTES);
                alloc(chip, "o", (long) c.dim() * Float.BYTES);
                alloc(chip, "partials", (long) s.tp() * c.dim() * Float.BYTES);
                if (s == lastStage) {
                    alloc(chip, "norm.final", (long) c.dim() * Float.BYTES);
                    alloc(chip, "logits", (long) c.vocabSize() * Float.BYTES);
                }
            }
        }
    }

    private long bytesOf(Tensor t, int layer) { return shape.bytes(t, layer); }

    /** The part of the fused q|k|v row range [lo, hi) that falls in a tensor occupying [start, start + rows). */
    private void addRows(Tensor t, int layer, int chip, int lo, int hi, int start, int rows) {
        int a = Math.max(lo, start), b = Math.min(hi, start + rows);
        if (a < b) {
            addShard(t, layer, 0, chip, a - start, b - a, 0, shape.cols(t));
        }
    }

    /** Bytes of weights placed (tied output counted once). */
    public long weightBytesPlaced() { return weightBytesPlaced; }
}
