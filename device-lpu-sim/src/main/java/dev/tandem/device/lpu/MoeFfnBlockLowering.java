package dev.tandem.device.lpu;

import dev.tandem.device.lpu.BlockPlacement.Slice;
import dev.tandem.device.lpu.Instruction.BinaryOp;
import dev.tandem.device.lpu.Instruction.LoadExpertWeights;
import dev.tandem.device.lpu.Instruction.Matvec;
import dev.tandem.device.lpu.Instruction.MemRead;
import dev.tandem.device.lpu.Instruction.MemWrite;
import dev.tandem.device.lpu.Instruction.RmsNorm;
import dev.tandem.device.lpu.Instruction.SxmTopK;
import dev.tandem.device.lpu.Instruction.VxmBinary;
import dev.tandem.device.lpu.Instruction.VxmScaleBy;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.model.LlamaConfig;

import java.util.List;

/**
 * A mixture-of-experts FFN block (Mixtral's) as one static program over the block's chips. Every
 * expert is split over the chips as a dense FFN is ({@link FfnBlockLowering}: W1/W3 by hidden
 * range, W2 by output rows), each tensor's slices of all experts in one region per chip at a fixed
 * stride, so that an {@link LoadExpertWeights} picks the router's choice by index. Per row:
 * rmsnorm; the router's (experts, dim) matvec on the block's first chip; {@link SxmTopK} (indices
 * and softmax gate weights of the top k); the choice sent to the other chips; then for each of the
 * k chosen experts the dense FFN's steps with only that expert's tiles streamed, its output rows
 * scaled by its gate weight and summed in choice order; the sum gathered on chip 0 and added to x.
 * The schedule does not depend on the choice (every expert's tiles have one shape), so the cycles
 * are those of any choice, and only k experts' weights are read.
 *
 * <p>Rows run one after the other through the same scratch (each row chooses its own experts).
 */
final class MoeFfnBlockLowering extends BlockLowering {
    static final int S_R = 14, S_SEL = 15, S_E = 16;

    private final LlamaConfig c;
    private final int experts, active;

    private MoeFfnBlockLowering(ChipConfig config, LlamaConfig c, BlockPlacement p, Allocation x, int experts, int active) {
        super(config, p, x, 1);
        this.c = c;
        this.experts = experts;
        this.active = active;
    }

    /**
     * Places the router (formats[0]) on the first chip, every expert's W1, W3 (formats[1], [2]) by
     * hidden rows and W2 (formats[3]) by output rows, the norm, and scratch for one row.
     */
    static BlockPlacement place(ChipConfig config, List<SramAllocator> allocators, int[] chips, LlamaConfig c,
                                WeightFormat[] formats, int experts, int active) {
        if (active < 1 || active > experts) {
            throw new IllegalArgumentException("need 1 <= active experts <= experts, got " + active + " of " + experts);
        }
        int dim = c.dim(), hidden = c.hiddenDim(), tp = chips.length;
        BlockPlacement.Builder b = new BlockPlacement.Builder(config, allocators, chips, "MoE FFN block");
        int[] h = FfnBlockLowering.hiddenSplit(c, tp), d = split(dim, tp, 1);
        try {
            b.slice("router", chips[0], 0, experts, dim, formats[0]);
            for (int i = 0; i < tp; i++) {
                int chip = chips[i];
                b.expertSlices("w1", chip, h[i], h[i + 1] - h[i], dim, formats[1], experts);
                b.expertSlices("w3", chip, h[i], h[i + 1] - h[i], dim, formats[2], experts);
                b.expertSlices("w2", chip, d[i], d[i + 1] - d[i], hidden, formats[3], experts);
                b.region(chip, "norm", 4L * dim);
                if (tp > 1) {
                    b.region(chip, "h", 4L * hidden);
                    b.region(chip, "sel", 4L * 2 * active);
                }
                exchangeRegions(b, chip, 1, dim);
            }
            homeResultRegion(b, chips, 1, dim);
        } catch (RuntimeException e) {
            b.free();
            throw e;
        }
        return b.build();
    }

    /** The program for batch rows of x (batch, dim) at the home chip's x. */
    static StaticProgram lower(ChipConfig config, LlamaConfig c, BlockPlacement p, Allocation x, int batch, int experts,
                               int active) {
        MoeFfnBlockLowering l = new MoeFfnBlockLowering(config, c, p, x, experts, active);
        for (int row = 0; row < batch; row++) {
            l.lowerRow(x.offset() + 4L * row * c.dim());
        }
        return l.s.build();
    }

    private void lowerRow(long x) {
        int dim = c.dim(), hidden = c.hiddenDim();
        int[] chips = p.chips();
        int tp = chips.length, router = chips[0];
        int[] h = FfnBlockLowering.hiddenSplit(c, tp), d = split(dim, tp, 1);
        distributeX(x, dim);
        for (int chip : chips) {
            s.emit(chip, new MemRead(p.at(chip, "norm"), dim, S_NORM, 0));
            s.emit(chip, new RmsNorm(S_X, 0, S_NORM, S_XB, 0, dim, 1, c.rmsEps()));
        }
        matvec(router, p.slices("router", router), S_XB, S_R, 0, 0, experts);
        s.emit(router, new SxmTopK(S_R, 0, experts, active, S_SEL, 0));
        if (tp > 1) {
            // The choice (indices and gate weights) goes to every other chip of the block.
            s.emit(router, new MemWrite(S_SEL, 0, 2 * active, p.at(router, "sel")));
            for (int chip : chips) {
                if (chip != router) {
                    s.transfer(router, p.at(router, "sel"), chip, p.at(chip, "sel"), 4L * 2 * active);
                    s.emit(chip, new MemRead(p.at(chip, "sel"), 2 * active, S_SEL, 0));
                }
            }
        }
        for (int j = 0; j < active; j++) {
            for (int i = 0; i < tp; i++) {
                int chip = chips[i];
                expertMatvec(chip, "w1", j, S_XB, S_G);
                expertMatvec(chip, "w3", j, S_XB, S_U);
                int n = h[i + 1] - h[i];
                if (n > 0) {
                    s.emit(chip, new VxmBinary(BinaryOp.SILU_MUL, S_G, h[i], S_U, h[i], n));
                }
            }
            if (tp > 1) {
                allGather(S_G, hidden, h, "h");
            }
            for (int i = 0; i < tp; i++) {
                int chip = chips[i];
                int n = d[i + 1] - d[i];
                if (n == 0) {
                    continue;
                }
                // The first expert's rows land in the sum itself; later ones are scaled apart and added, in choice order.
                int out = j == 0 ? S_O : S_E;
                expertMatvec(chip, "w2", j, S_G, out);
                s.emit(chip, new VxmScaleBy(out, d[i], n, S_SEL, active + j));
                if (j > 0) {
                    s.emit(chip, new VxmBinary(BinaryOp.ADD, S_O, d[i], S_E, d[i], n));
                }
            }
        }
        gatherHome(S_O, dim, d, "o");
        addResidualAtHome(x, dim);
    }

    /**
     * out[rowStart + r] = W_e[r]·in for the chip's rows of tensor, e the j-th chosen expert: the
     * tiles of expert 0's slices, loaded at the chosen expert's stride.
     */
    private void expertMatvec(int chip, String tensor, int j, int in, int out) {
        List<Slice> first = p.slices(BlockPlacement.expertTensor(tensor, 0), chip);
        List<Slice> second = experts > 1 ? p.slices(BlockPlacement.expertTensor(tensor, 1), chip) : first;
        for (int k = 0; k < first.size(); k++) {
            Slice sl = first.get(k);
            long stride = experts > 1 ? second.get(k).sram() - sl.sram() : sl.bytes();
            long rowBytes = sl.format().bytesFor(sl.cols());
            int tileRows = (int) Math.max(1, Math.min(sl.rows(), config.mxmWeightBufferBytes() / rowBytes));
            for (int r = 0; r < sl.rows(); r += tileRows) {
                int rows = Math.min(tileRows, sl.rows() - r);
                int buffer = nextBuffer(chip);
                s.emit(chip, new LoadExpertWeights(sl.sram() + r * rowBytes, stride, experts, sl.format(), rows, sl.cols(), buffer,
                        S_SEL, j));
                s.emit(chip, new Matvec(sl.format(), rows, sl.cols(), buffer, 1, in, 0, out, sl.rowStart() + r, 0));
            }
        }
    }
}
