package dev.tandem.device.lpu;

import dev.tandem.device.lpu.Instruction.BinaryOp;
import dev.tandem.device.lpu.Instruction.MemRead;
import dev.tandem.device.lpu.Instruction.RmsNorm;
import dev.tandem.device.lpu.Instruction.VxmBinary;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.model.LlamaConfig;

import java.util.List;

/**
 * One FFN block for batch rows as one static program over the block's chips: rmsnorm; each chip's
 * hidden range of W1 and W3 and silu·mul there; all-gather of those slices, so every chip holds
 * the whole (batch, hidden) activation; each chip's ROWS of W2 over the whole hidden width; the
 * output slices gathered on chip 0, which adds the residual into x.
 *
 * <p>W2 is split by rows, not by the hidden columns as the whole-step lowering does, because a
 * column split sums partial dot products across chips, which reassociates the float sum: every
 * output element here is one whole dot product on one chip, so the block is bit-identical to the
 * primitive ops at any tp. The price is that the all-gather moves hidden floats per row where the
 * all-reduce moved dim per chip.
 */
final class FfnBlockLowering extends BlockLowering {
    private final LlamaConfig c;

    private FfnBlockLowering(ChipConfig config, LlamaConfig c, BlockPlacement p, Allocation x, int batch) {
        super(config, p, x, batch);
        this.c = c;
    }

    static int[] hiddenSplit(LlamaConfig c, int tp) { return split(c.hiddenDim(), tp, 1); }

    /** Places W1, W3 (formats[0], [1]) by hidden rows, W2 (formats[2]) by output rows, the norm, and scratch for maxBatch rows. */
    static BlockPlacement place(ChipConfig config, List<SramAllocator> allocators, int[] chips, LlamaConfig c,
                                WeightFormat[] formats, int maxBatch) {
        int dim = c.dim(), hidden = c.hiddenDim(), tp = chips.length;
        BlockPlacement.Builder b = new BlockPlacement.Builder(config, allocators, chips, "FFN block");
        int[] h = hiddenSplit(c, tp), d = split(dim, tp, 1);
        try {
            for (int i = 0; i < tp; i++) {
                int chip = chips[i];
                b.slice("w1", chip, h[i], h[i + 1] - h[i], dim, formats[0]);
                b.slice("w3", chip, h[i], h[i + 1] - h[i], dim, formats[1]);
                b.slice("w2", chip, d[i], d[i + 1] - d[i], hidden, formats[2]);
                b.region(chip, "norm", 4L * dim);
                if (tp > 1) {
                    b.region(chip, "h", 4L * maxBatch * hidden);
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

    /** The program: x (batch, dim) at the home chip's x. */
    static StaticProgram lower(ChipConfig config, LlamaConfig c, BlockPlacement p, Allocation x, int batch) {
        FfnBlockLowering l = new FfnBlockLowering(config, c, p, x, batch);
        l.lower(x.offset());
        return l.s.build();
    }

    private void lower(long x) {
        int dim = c.dim(), hidden = c.hiddenDim();
        int[] chips = p.chips();
        int tp = chips.length;
        int[] h = hiddenSplit(c, tp);
        distributeX(x, dim);
        for (int i = 0; i < tp; i++) {
            int chip = chips[i];
            s.emit(chip, new MemRead(p.at(chip, "norm"), dim, S_NORM, 0));
            s.emit(chip, new RmsNorm(S_X, 0, S_NORM, S_XB, 0, dim, batch, c.rmsEps()));
            // (batch, hidden) rows; this chip fills columns [h[i], h[i+1]).
            matvec(chip, p.slices("w1", chip), S_XB, S_G, 0, 0, hidden);
            matvec(chip, p.slices("w3", chip), S_XB, S_U, 0, 0, hidden);
            int n = h[i + 1] - h[i];
            if (n == hidden) {
                s.emit(chip, new VxmBinary(BinaryOp.SILU_MUL, S_G, 0, S_U, 0, batch * hidden));
            } else if (n > 0) {
                for (int b = 0; b < batch; b++) {
                    s.emit(chip, new VxmBinary(BinaryOp.SILU_MUL, S_G, b * hidden + h[i], S_U, b * hidden + h[i], n));
                }
            }
        }
        if (tp > 1) {
            allGather(S_G, hidden, h, "h");
        }
        for (int chip : chips) {
            matvec(chip, p.slices("w2", chip), S_G, S_O, 0, 0, dim);
        }
        gatherHome(S_O, dim, split(dim, tp, 1), "o");
        addResidualAtHome(x, dim);
    }
}
