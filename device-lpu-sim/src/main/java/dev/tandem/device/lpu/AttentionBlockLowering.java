package dev.tandem.device.lpu;

import dev.tandem.device.lpu.Instruction.Attention;
import dev.tandem.device.lpu.Instruction.MemRead;
import dev.tandem.device.lpu.Instruction.MemWrite;
import dev.tandem.device.lpu.Instruction.RmsNorm;
import dev.tandem.device.lpu.Instruction.Rope;
import dev.tandem.device.lpu.Instruction.SxmPermute;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.model.LlamaConfig;

import java.util.List;

/**
 * One attention block for batch rows at positions pos0.. as one static program over the block's
 * chips: rmsnorm; each chip's rows of the fused q|k|v (split(qDim + 2 kvDim, tp, 1)); all-gather;
 * rope; the new K/V rows into the KV cache, which every block chip holds whole; causal attention on
 * every chip; each chip's rows of Wo; the slices gathered on chip 0, which adds the residual into x.
 * Every row of every matrix is one whole dot product on one chip and attention is replicated, so
 * the result is bit-identical to the primitive ops at any tp.
 */
final class AttentionBlockLowering extends BlockLowering {
    private final LlamaConfig c;

    private AttentionBlockLowering(ChipConfig config, LlamaConfig c, BlockPlacement p, Allocation x, int batch) {
        super(config, p, x, batch);
        this.c = c;
    }

    /** The q|k|v row range of each block chip. */
    static int[] qkvSplit(LlamaConfig c, int tp) {
        return split(c.nHeads() * c.headDim() + 2 * c.kvDim(), tp, 1);
    }

    /**
     * Places the block's weights (formats of wq, wk, wv, wo), norm, rope frequencies, a KV cache of
     * maxPositions on every chip, and scratch for maxBatch rows.
     */
    static BlockPlacement place(ChipConfig config, List<SramAllocator> allocators, int[] chips, LlamaConfig c,
                                WeightFormat[] formats, int maxPositions, int maxBatch) {
        int dim = c.dim(), qDim = c.nHeads() * c.headDim(), kvDim = c.kvDim(), total = qDim + 2 * kvDim, tp = chips.length;
        BlockPlacement.Builder b = new BlockPlacement.Builder(config, allocators, chips, "attention block");
        int[] qkv = qkvSplit(c, tp), wo = split(dim, tp, 1);
        try {
            for (int i = 0; i < tp; i++) {
                int chip = chips[i];
                sliceOf(b, "wq", chip, qkv[i], qkv[i + 1], 0, qDim, dim, formats[0]);
                sliceOf(b, "wk", chip, qkv[i], qkv[i + 1], qDim, kvDim, dim, formats[1]);
                sliceOf(b, "wv", chip, qkv[i], qkv[i + 1], qDim + kvDim, kvDim, dim, formats[2]);
                b.slice("wo", chip, wo[i], wo[i + 1] - wo[i], qDim, formats[3]);
                b.region(chip, "norm", 4L * dim);
                b.region(chip, "ropefreq", 4L * (c.headDim() / 2));
                b.region(chip, "kv.k", 4L * maxPositions * kvDim);
                b.region(chip, "kv.v", 4L * maxPositions * kvDim);
                if (tp > 1) {
                    b.region(chip, "qkv", 4L * maxBatch * total);
                }
                exchangeRegions(b, chip, maxBatch, dim);
            }
            homeResultRegion(b, chips, maxBatch, dim);
        } catch (RuntimeException e) {
            b.free();
            throw e;
        }
        return b.build();
    }

    /** The part of the fused row range [lo, hi) that falls in a tensor at [start, start + rows). */
    private static void sliceOf(BlockPlacement.Builder b, String tensor, int chip, int lo, int hi, int start, int rows, int cols,
                                WeightFormat format) {
        int from = Math.max(lo, start), to = Math.min(hi, start + rows);
        if (from < to) {
            b.slice(tensor, chip, from - start, to - from, cols, format);
        }
    }

    /** The program: x (batch, dim) at the home chip's x, rows at positions pos0 + b. */
    static StaticProgram lower(ChipConfig config, LlamaConfig c, BlockPlacement p, Allocation x, int pos0, int batch) {
        AttentionBlockLowering l = new AttentionBlockLowering(config, c, p, x, batch);
        l.lower(x.offset(), pos0);
        return l.s.build();
    }

    private void lower(long x, int pos0) {
        int dim = c.dim(), qDim = c.nHeads() * c.headDim(), kvDim = c.kvDim(), total = qDim + 2 * kvDim;
        int[] chips = p.chips();
        int tp = chips.length;
        distributeX(x, dim);
        for (int chip : chips) {
            s.emit(chip, new MemRead(p.at(chip, "norm"), dim, S_NORM, 0));
            s.emit(chip, new RmsNorm(S_X, 0, S_NORM, S_XB, 0, dim, batch, c.rmsEps()));
            // (batch, q|k|v) rows of width total: q at 0, k at qDim, v at qDim + kvDim.
            matvec(chip, p.slices("wq", chip), S_XB, S_QKV, 0, 0, total);
            matvec(chip, p.slices("wk", chip), S_XB, S_QKV, qDim, 0, total);
            matvec(chip, p.slices("wv", chip), S_XB, S_QKV, qDim + kvDim, 0, total);
        }
        if (tp > 1) {
            allGather(S_QKV, total, qkvSplit(c, tp), "qkv");
        }
        for (int chip : chips) {
            long keys = p.at(chip, "kv.k"), values = p.at(chip, "kv.v");
            s.emit(chip, new MemRead(p.at(chip, "ropefreq"), c.headDim() / 2, S_FREQ, 0));
            s.emit(chip, new Rope(S_QKV, 0, total, c.nHeads(), c.headDim(), pos0, batch, S_FREQ));
            s.emit(chip, new Rope(S_QKV, qDim, total, c.nKvHeads(), c.headDim(), pos0, batch, S_FREQ));
            for (int b = 0; b < batch; b++) {
                s.emit(chip, new MemWrite(S_QKV, b * total + qDim, kvDim, keys + 4L * (pos0 + b) * kvDim));
                s.emit(chip, new MemWrite(S_QKV, b * total + qDim + kvDim, kvDim, values + 4L * (pos0 + b) * kvDim));
            }
            s.emit(chip, new MemRead(keys, (pos0 + batch) * kvDim, S_K, 0));
            s.emit(chip, new MemRead(values, (pos0 + batch) * kvDim, S_V, 0));
            int q = S_QKV;
            if (batch > 1) {
                // Attention takes q as contiguous (batch, qDim) rows.
                s.emit(chip, new SxmPermute(S_QKV, 0, total, S_Q, 0, qDim, batch, qDim));
                q = S_Q;
            }
            s.emit(chip, new Attention(q, S_K, S_V, S_ATT, pos0, batch, c.nHeads(), c.nKvHeads(), c.headDim()));
            matvec(chip, p.slices("wo", chip), S_ATT, S_O, 0, 0, dim);
        }
        gatherHome(S_O, dim, split(dim, tp, 1), "o");
        addResidualAtHome(x, dim);
    }
}
