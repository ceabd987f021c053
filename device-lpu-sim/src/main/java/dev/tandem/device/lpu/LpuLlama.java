package dev.tandem.device.lpu;

import dev.tandem.device.lpu.LlamaLayout.Shard;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.LlamaWeights;

import java.lang.foreign.MemorySegment;

/**
 * A Llama model resident in the SRAM of a {@link ChipArray}, decoded one whole-step program at a
 * time: the weights are copied into their shards once, and each {@link #forward} lowers, validates
 * and runs the step's program in full mode, then reads the logits off the chip that gathered them.
 */
public final class LpuLlama implements AutoCloseable {
    private final LlamaLayout layout;
    private final ChipArray array;
    private final float[] logits;
    private RunStats lastStep;

    public LpuLlama(LlamaConfig config, LlamaWeights weights, float[] ropeInvFreq, ChipConfig chip, int chips, int maxPositions) {
        this(config, weights, ropeInvFreq, chip, chips, maxPositions, true);
    }

    /** @param hostParallel see {@link ChipArray#ChipArray(ChipConfig, int, boolean)} */
    public LpuLlama(LlamaConfig config, LlamaWeights weights, float[] ropeInvFreq, ChipConfig chip, int chips, int maxPositions,
                    boolean hostParallel) {
        this.layout = new LlamaLayout(ModelShape.of(config, weights), chip, chips, maxPositions);
        this.array = new ChipArray(chip, chips, hostParallel);
        this.logits = new float[config.vocabSize()];
        try {
            for (Shard sh : layout.allShards()) {
                array.writeBytes(sh.chip(), sh.sram(), shardBytes(ModelShape.matrix(weights, sh.tensor(), sh.layer()), sh));
            }
            for (LlamaLayout.Stage st : layout.stages()) {
                for (int chipId : st.chips()) {
                    for (int b = st.firstBlock(); b < st.endBlock(); b++) {
                        int l = LlamaLayout.Stage.layerOf(b);
                        if (LlamaLayout.Stage.isAttention(b)) {
                            write(chipId, "norm.attn." + l, weights.attnNorm()[l]);
                        } else {
                            write(chipId, "norm.ffn." + l, weights.ffnNorm()[l]);
                        }
                    }
                    write(chipId, "ropefreq", ropeInvFreq);
                    if (st == layout.stages().getLast()) {
                        write(chipId, "norm.final", weights.finalNorm());
                    }
                }
            }
        } catch (RuntimeException e) {
            array.close();
            throw e;
        }
    }

    private void write(int chip, String region, float[] values) {
        array.writeFloats(chip, layout.offset(chip, region), values, 0, values.length);
    }

    /** The bytes of a shard: whole rows are one slice; a column range is copied block by block, row by row. */
    static MemorySegment shardBytes(WeightMatrix m, Shard sh) {
        WeightFormat f = m.format();
        long rowBytes = f.bytesFor(m.cols());
        if (sh.colStart() == 0 && sh.cols() == m.cols()) {
            return m.data().asSlice(sh.rowStart() * rowBytes, sh.rows() * rowBytes);
        }
        long skip = f.bytesFor(sh.colStart()), take = f.bytesFor(sh.cols());
        MemorySegment out = MemorySegment.ofArray(new byte[(int) (take * sh.rows())]);
        for (int r = 0; r < sh.rows(); r++) {
            MemorySegment.copy(m.data(), (sh.rowStart() + r) * rowBytes + skip, out, r * take, take);
        }
        return out;
    }

    public LlamaLayout layout() { return layout; }

    public ChipArray chips() { return array; }

    /** The timing of the last step. */
    public RunStats lastStep() { return lastStep; }

    /** Runs the decode step of token at pos; returns the logits (reused by the next call). */
    public float[] forward(int token, int pos) {
        StaticProgram p = LlamaLowering.decodeStep(layout, token, pos);
        lastStep = array.run(p, ChipArray.Mode.FULL);
        int chip = layout.logitsChip();
        array.readFloats(chip, layout.offset(chip, "logits"), logits, 0, logits.length);
        return logits;
    }

    /** Lowers, validates and runs one decode step without data: the cycles of a model too large for the host. */
    public static RunStats timeStep(ModelShape shape, ChipConfig chip, int chips, int maxPositions, int pos) {
        LlamaLayout layout = new LlamaLayout(shape, chip, chips, maxPositions);
        StaticProgram p = LlamaLowering.decodeStep(layout, 1, pos);
        try (ChipArray array = new ChipArray(chip, chips)) {
            return array.run(p, ChipArray.Mode.TIMING);
        }
    }

    @Override
    public void close() {
        array.close();
    }
}
