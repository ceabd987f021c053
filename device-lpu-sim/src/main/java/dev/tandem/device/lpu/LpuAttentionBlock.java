package dev.tandem.device.lpu;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.device.AttentionWeights;
import dev.tandem.runtime.device.DeviceAttention;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.model.ArchOptions;
import dev.tandem.runtime.model.LlamaConfig;

import java.util.Map;
import java.util.function.Consumer;

/**
 * A placed attention block: it runs as one program; its KV cache is replicated on every chip of the
 * block. Llama's block, or one with Qwen2's q|k|v biases, Qwen3's QK-norm and a head width of its own.
 */
final class LpuAttentionBlock implements DeviceAttention {
    private final ChipMemory memory;
    private final ChipArray array;
    private final Consumer<StaticProgram> runner;
    final BlockPlacement placement;
    private final LlamaConfig c;
    private final int maxPositions, maxBatch;
    private boolean freed;

    LpuAttentionBlock(ChipMemory memory, ChipArray array, Consumer<StaticProgram> runner, BlockPlacement placement, LlamaConfig c,
                      int maxPositions, int maxBatch) {
        this.memory = memory;
        this.array = array;
        this.runner = runner;
        this.placement = placement;
        this.c = c;
        this.maxPositions = maxPositions;
        this.maxBatch = maxBatch;
    }

    /** The architecture's options and the weights they add come together: the placement follows the config. */
    private static WeightFormat[] formats(AttentionWeights w) {
        ArchOptions arch = w.config().arch();
        if (arch.qkvBias() != (w.bq() != null) || arch.qkNorm() != (w.qNorm() != null)) {
            throw new IllegalArgumentException("the attention weights' biases and QK-norm disagree with the architecture's options "
                    + arch.attentionFeatures(w.config()));
        }
        return new WeightFormat[] {w.wq().format(), w.wk().format(), w.wv().format(), w.wo().format()};
    }

    /** SRAM the block would take on memory's chips. */
    static long bytes(ChipMemory memory, AttentionWeights w, int maxPositions, int maxBatch) {
        return memory.dryRunBytes((a, chips) -> AttentionBlockLowering.place(memory.config(), a, chips, w.config(), formats(w),
                maxPositions, maxBatch));
    }

    /** Places the block by memory's scheme and writes its weights, norm and rope frequencies. */
    static LpuAttentionBlock upload(ChipMemory memory, ChipArray array, Consumer<StaticProgram> runner, AttentionWeights w,
                                    int maxPositions, int maxBatch) {
        return new LpuAttentionBlock(memory, array, runner, placeAndWrite(memory, array, w, maxPositions, maxBatch), w.config(),
                maxPositions, maxBatch);
    }

    /**
     * Places an attention block with a KV cache of positions (one sequence's, or a paged pool's) and
     * scratch for maxBatch rows by memory's scheme, and writes its weights, norm and rope frequencies.
     */
    static BlockPlacement placeAndWrite(ChipMemory memory, ChipArray array, AttentionWeights w, int positions, int maxBatch) {
        BlockPlacement p = memory.placeBlock((a, chips) -> AttentionBlockLowering.place(memory.config(), a, chips, w.config(),
                formats(w), positions, maxBatch));
        p.writeWeights(array, Map.of("wq", w.wq(), "wk", w.wk(), "wv", w.wv(), "wo", w.wo()));
        p.writeEverywhere(array, "norm", w.norm());
        p.writeEverywhere(array, "ropefreq", w.ropeInvFreq());
        if (w.bq() != null) {
            LlamaConfig c = w.config();
            float[] bias = new float[c.qDim() + 2 * c.kvDim()];
            System.arraycopy(w.bq(), 0, bias, 0, c.qDim());
            System.arraycopy(w.bk(), 0, bias, c.qDim(), c.kvDim());
            System.arraycopy(w.bv(), 0, bias, c.qDim() + c.kvDim(), c.kvDim());
            p.writeEverywhere(array, "qkvbias", bias);
        }
        if (w.qNorm() != null) {
            p.writeEverywhere(array, "qnorm", w.qNorm());
            p.writeEverywhere(array, "knorm", w.kNorm());
        }
        return p;
    }

    @Override
    public int maxPositions() { return maxPositions; }

    @Override
    public void run(DeviceBuffer x, int pos0, int batch) {
        if (batch < 1 || batch > maxBatch || pos0 < 0 || pos0 + batch > maxPositions) {
            throw new IllegalArgumentException("rows [" + pos0 + ", " + (pos0 + batch) + ") do not fit a block of " + maxBatch
                    + " rows and " + maxPositions + " positions");
        }
        runner.accept(AttentionBlockLowering.lower(memory.config(), c, placement, LpuBuffer.of(x).allocation, pos0, batch));
    }

    private void check(int from, int count) {
        if (from < 0 || count < 0 || from + count > maxPositions) {
            throw new IllegalArgumentException("positions [" + from + ", " + (from + count) + ") outside the KV cache of " + maxPositions);
        }
    }

    @Override
    public void readKv(int from, int count, float[] k, float[] v) {
        check(from, count);
        int chip = placement.chips()[0], kvDim = c.kvDim();
        array.readFloats(chip, placement.at(chip, "kv.k") + 4L * from * kvDim, k, 0, count * kvDim);
        array.readFloats(chip, placement.at(chip, "kv.v") + 4L * from * kvDim, v, 0, count * kvDim);
    }

    @Override
    public void writeKv(int from, int count, float[] k, float[] v) {
        check(from, count);
        int kvDim = c.kvDim();
        for (int chip : placement.chips()) {
            array.writeFloats(chip, placement.at(chip, "kv.k") + 4L * from * kvDim, k, 0, count * kvDim);
            array.writeFloats(chip, placement.at(chip, "kv.v") + 4L * from * kvDim, v, 0, count * kvDim);
        }
    }

    @Override
    public void close() {
        if (!freed) {
            freed = true;
            memory.free(placement);
        }
    }
}
