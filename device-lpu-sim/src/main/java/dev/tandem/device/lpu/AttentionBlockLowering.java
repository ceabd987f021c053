package dev.tandem.device.lpu;

import dev.tandem.device.lpu.Instruction.Attention;
import dev.tandem.device.lpu.Instruction.BinaryOp;
import dev.tandem.device.lpu.Instruction.MemRead;
import dev.tandem.device.lpu.Instruction.MemWrite;
import dev.tandem.device.lpu.Instruction.RmsNorm;
import dev.tandem.device.lpu.Instruction.Rope;
import dev.tandem.device.lpu.Instruction.SxmPermute;
import dev.tandem.device.lpu.Instruction.VxmBinary;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.model.LlamaConfig;

import java.util.List;

/**
 * One attention block for batch rows at positions pos0.. as one static program over the block's
 * chips: rmsnorm; each chip's rows of the fused q|k|v (split(qDim + 2 kvDim, tp, 1)); all-gather;
 * what the architecture adds (Qwen2's q|k|v biases, Qwen3's per-head QK-norm, in
 * {@code AttentionWeights.qkvOptions}' order and arithmetic); rope; the new K/V rows into the KV cache, which every block chip holds whole; causal attention on
 * every chip; each chip's rows of Wo; the slices gathered on chip 0, which adds the residual into x.
 * Every row of every matrix is one whole dot product on one chip and attention is replicated, so
 * the result is bit-identical to the primitive ops at any tp.
 */
final class AttentionBlockLowering extends BlockLowering {
    static final int S_BIAS = 17, S_QNORM = 18, S_KNORM = 19;

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
                if (c.arch().qkvBias()) {
                    b.region(chip, "qkvbias", 4L * total);
                }
                if (c.arch().qkNorm()) {
                    b.region(chip, "qnorm", 4L * c.headDim());
                    b.region(chip, "knorm", 4L * c.headDim());
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

    /**
     * Rows of one sequence at consecutive positions pos0 .. pos0 + rows - 1, whose KV cache is read
     * and written through its block table (cache row of position p: table[p / blockSize] * blockSize
     * + p % blockSize).
     */
    record Run(int[] table, int pos0, int rows) {
        int positions() { return pos0 + rows; }
    }

    private static final int[] CONTIGUOUS = {0};

    /** The program: x (batch, dim) at the home chip's x, rows at positions pos0 + b of one contiguous cache. */
    static StaticProgram lower(ChipConfig config, LlamaConfig c, BlockPlacement p, Allocation x, int pos0, int batch) {
        // A contiguous cache is a pool of one block that holds every position the rows reach.
        return lower(config, c, p, x, List.of(new Run(CONTIGUOUS, pos0, batch)), pos0 + batch);
    }

    /**
     * The program for rows of several sequences over a paged cache: x (rows, dim) at the home
     * chip's x, the runs in row order, each a different sequence (a later run of one sequence would
     * read its earlier run's rows, which this program does not promise to order). Everything but
     * the rope, the KV writes and reads and the attention runs over all rows at once; those run per
     * run, each gathering its sequence's blocks into the key and value streams.
     */
    static StaticProgram lower(ChipConfig config, LlamaConfig c, BlockPlacement p, Allocation x, List<Run> runs, int blockSize) {
        int batch = runs.stream().mapToInt(Run::rows).sum();
        AttentionBlockLowering l = new AttentionBlockLowering(config, c, p, x, batch);
        l.lower(x.offset(), runs, blockSize);
        return l.s.build();
    }

    private void lower(long x, List<Run> runs, int blockSize) {
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
            qkvOptions(chip, total, qDim);
            long keys = p.at(chip, "kv.k"), values = p.at(chip, "kv.v");
            s.emit(chip, new MemRead(p.at(chip, "ropefreq"), c.headDim() / 2, S_FREQ, 0));
            int row = 0;
            for (Run run : runs) {
                attendRun(chip, keys, values, run, row, blockSize, runs.size() == 1);
                row += run.rows();
            }
            matvec(chip, p.slices("wo", chip), S_ATT, S_O, 0, 0, dim);
        }
        gatherHome(S_O, dim, split(dim, tp, 1), "o");
        addResidualAtHome(x, dim);
    }

    /**
     * On every chip (each holds the whole q|k|v after the all-gather, as the rope needs): every row's
     * q|k|v plus the bias q|k|v, then each head of q and of k RMS-normalised by its weight, as the
     * host does each in place.
     */
    private void qkvOptions(int chip, int total, int qDim) {
        if (c.arch().qkvBias()) {
            s.emit(chip, new MemRead(p.at(chip, "qkvbias"), total, S_BIAS, 0));
            for (int b = 0; b < batch; b++) {
                s.emit(chip, new VxmBinary(BinaryOp.ADD, S_QKV, b * total, S_BIAS, 0, total));
            }
        }
        if (c.arch().qkNorm()) {
            int hd = c.headDim();
            s.emit(chip, new MemRead(p.at(chip, "qnorm"), hd, S_QNORM, 0));
            s.emit(chip, new MemRead(p.at(chip, "knorm"), hd, S_KNORM, 0));
            for (int b = 0; b < batch; b++) {
                s.emit(chip, new RmsNorm(S_QKV, b * total, S_QNORM, S_QKV, b * total, hd, c.nHeads(), c.rmsEps()));
                s.emit(chip, new RmsNorm(S_QKV, b * total + qDim, S_KNORM, S_QKV, b * total + qDim, hd, c.nKvHeads(), c.rmsEps()));
            }
        }
    }

    /**
     * One run's rope, its keys and values into its sequence's slots, its sequence's cache gathered
     * block by block, and its attention into rows [row, row + run.rows) of S_ATT.
     */
    private void attendRun(int chip, long keys, long values, Run run, int row, int blockSize, boolean alone) {
        int qDim = c.nHeads() * c.headDim(), kvDim = c.kvDim(), total = qDim + 2 * kvDim, n = run.rows();
        s.emit(chip, new Rope(S_QKV, row * total, total, c.nHeads(), c.headDim(), run.pos0(), n, S_FREQ));
        s.emit(chip, new Rope(S_QKV, row * total + qDim, total, c.nKvHeads(), c.headDim(), run.pos0(), n, S_FREQ));
        for (int b = 0; b < n; b++) {
            long slot = 4L * slot(run, run.pos0() + b, blockSize) * kvDim;
            s.emit(chip, new MemWrite(S_QKV, (row + b) * total + qDim, kvDim, keys + slot));
            s.emit(chip, new MemWrite(S_QKV, (row + b) * total + qDim + kvDim, kvDim, values + slot));
        }
        for (int at = 0; at < run.positions(); at += blockSize) {
            int count = Math.min(blockSize, run.positions() - at);
            long block = 4L * run.table()[at / blockSize] * blockSize * kvDim;
            s.emit(chip, new MemRead(keys + block, count * kvDim, S_K, at * kvDim));
            s.emit(chip, new MemRead(values + block, count * kvDim, S_V, at * kvDim));
        }
        int q = S_QKV;
        if (n > 1 || row > 0) {
            // Attention takes q as contiguous (rows, qDim) rows from offset 0.
            s.emit(chip, new SxmPermute(S_QKV, row * total, total, S_Q, 0, qDim, n, qDim));
            q = S_Q;
        }
        if (alone) {
            s.emit(chip, new Attention(q, S_K, S_V, S_ATT, run.pos0(), n, c.nHeads(), c.nKvHeads(), c.headDim()));
        } else {
            s.emit(chip, new Attention(q, S_K, S_V, S_RUN, run.pos0(), n, c.nHeads(), c.nKvHeads(), c.headDim()));
            s.emit(chip, new SxmPermute(S_RUN, 0, n * qDim, S_ATT, row * qDim, n * qDim, 1, n * qDim));
        }
    }

    private static long slot(Run run, int pos, int blockSize) {
        return (long) run.table()[pos / blockSize] * blockSize + pos % blockSize;
    }
}
