package dev.tandem.device.lpu;

import dev.tandem.device.lpu.BlockPlacement.Slice;
import dev.tandem.device.lpu.Instruction.BinaryOp;
import dev.tandem.device.lpu.Instruction.LoadExpertWeights;
import dev.tandem.device.lpu.Instruction.Matvec;
import dev.tandem.device.lpu.Instruction.MemRead;
import dev.tandem.device.lpu.Instruction.MemWrite;
import dev.tandem.device.lpu.Instruction.RmsNorm;
import dev.tandem.device.lpu.Instruction.SxmRoute;
import dev.tandem.device.lpu.Instruction.UnaryOp;
import dev.tandem.device.lpu.Instruction.VxmBinary;
import dev.tandem.device.lpu.Instruction.VxmScaleBy;
import dev.tandem.device.lpu.Instruction.VxmUnary;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.MoeConfig;

import java.util.List;

/**
 * A mixture-of-experts FFN block (Mixtral's, Qwen2-MoE's with its shared expert, Qwen3-MoE's) as
 * one static program over the block's chips. Every expert is split over the chips as a dense FFN is
 * ({@link FfnBlockLowering}: W1/W3 by hidden range, W2 by output rows), each tensor's slices of all
 * experts in one region per chip at a fixed stride, so that an {@link LoadExpertWeights} picks the
 * router's choice by index; a shared expert is split the same way as a dense FFN of its own width.
 *
 * <p>Per row: rmsnorm; the router's (experts, dim) matvec on the block's first chip; {@link SxmRoute}
 * (the reference's routing: softmax over all experts, the top k in ascending expert order, their
 * weights renormalised when the mixture says so); the shared expert's gate logit and its sigmoid;
 * the choice sent to the other chips; then for each of the k chosen experts the dense FFN's steps
 * with only that expert's tiles streamed, its output rows scaled by its weight and summed in that
 * order; the shared expert last, scaled by its gate; the sum gathered on chip 0 and added to x. That
 * is {@code HostMoeFfn}'s arithmetic in its order, so the block is bit-identical to the host.
 *
 * <p>The schedule does not depend on the choice (every expert's tiles have one shape, and the load
 * takes the same cycles whichever it streams), so the cycles are those of any choice and are known
 * before the router runs; only k experts' weights are read. Rows run one after the other through
 * the same scratch (each row chooses its own experts).
 */
final class MoeFfnBlockLowering extends BlockLowering {
    static final int S_R = 14, S_SEL = 15, S_E = 16;

    /** Positions of the formats {@link #place} takes: the router, the experts' W1, W3, W2, then for a shared expert its gate, W1, W3, W2. */
    static final int ROUTER = 0, W1 = 1, W3 = 2, W2 = 3, SHARED_GATE = 4, SHARED_W1 = 5, SHARED_W3 = 6, SHARED_W2 = 7;

    private final LlamaConfig c;
    private final MoeConfig moe;

    private MoeFfnBlockLowering(ChipConfig config, LlamaConfig c, MoeConfig moe, BlockPlacement p, Allocation x) {
        super(config, p, x, 1);
        this.c = c;
        this.moe = moe;
    }

    /**
     * The mixture a block of c lowers: the config's own when it describes one (a loaded model), else
     * Mixtral's gating (renormalised top k, no shared expert) over experts of c's hidden width (a
     * shape the compiler sized without weights).
     */
    static MoeConfig mixtureOf(LlamaConfig c, int experts, int active) {
        MoeConfig m = c.arch().moe();
        if (m == null) {
            return new MoeConfig(experts, active, c.hiddenDim(), true, 0);
        }
        if (m.experts() != experts || m.expertsUsed() != active) {
            throw new IllegalArgumentException("the config's mixture has " + m.expertsUsed() + " of " + m.experts()
                    + " experts, the block was asked for " + active + " of " + experts);
        }
        return m;
    }

    /** Formats for a mixture whose experts (shared one included) are all in one format, its router in another; a shared gate (one row) in F32, as GGUF stores it. */
    static WeightFormat[] formats(MoeConfig moe, WeightFormat router, WeightFormat experts) {
        return moe.hasSharedExpert()
                ? new WeightFormat[] {router, experts, experts, experts, WeightFormat.F32, experts, experts, experts}
                : new WeightFormat[] {router, experts, experts, experts};
    }

    /** Channels of the routing stream: k expert ids, k weights, and the shared expert's gate. */
    private static int selFloats(MoeConfig moe) { return 2 * moe.expertsUsed() + (moe.hasSharedExpert() ? 1 : 0); }

    /**
     * Places the router (and a shared expert's gate) on the first chip, every expert's W1, W3 by
     * hidden rows and W2 by output rows, the shared expert likewise, the norm, and scratch for one row.
     */
    static BlockPlacement place(ChipConfig config, List<SramAllocator> allocators, int[] chips, LlamaConfig c, MoeConfig moe,
                                WeightFormat[] formats) {
        int want = moe.hasSharedExpert() ? 8 : 4;
        if (formats.length != want) {
            throw new IllegalArgumentException("a mixture " + (moe.hasSharedExpert() ? "with" : "without")
                    + " a shared expert takes " + want + " formats, got " + formats.length);
        }
        int dim = c.dim(), hidden = moe.expertHiddenDim(), shared = moe.sharedHiddenDim(), experts = moe.experts();
        int tp = chips.length;
        BlockPlacement.Builder b = new BlockPlacement.Builder(config, allocators, chips, "MoE FFN block");
        int[] h = split(hidden, tp, 1), hs = split(shared, tp, 1), d = split(dim, tp, 1);
        try {
            b.slice("router", chips[0], 0, experts, dim, formats[ROUTER]);
            if (moe.hasSharedExpert()) {
                b.slice("sgate", chips[0], 0, 1, dim, formats[SHARED_GATE]);
            }
            for (int i = 0; i < tp; i++) {
                int chip = chips[i];
                b.expertSlices("w1", chip, h[i], h[i + 1] - h[i], dim, formats[W1], experts);
                b.expertSlices("w3", chip, h[i], h[i + 1] - h[i], dim, formats[W3], experts);
                b.expertSlices("w2", chip, d[i], d[i + 1] - d[i], hidden, formats[W2], experts);
                if (moe.hasSharedExpert()) {
                    b.slice("sw1", chip, hs[i], hs[i + 1] - hs[i], dim, formats[SHARED_W1]);
                    b.slice("sw3", chip, hs[i], hs[i + 1] - hs[i], dim, formats[SHARED_W3]);
                    b.slice("sw2", chip, d[i], d[i + 1] - d[i], shared, formats[SHARED_W2]);
                }
                b.region(chip, "norm", 4L * dim);
                if (tp > 1) {
                    b.region(chip, "h", 4L * Math.max(hidden, shared));
                    b.region(chip, "sel", 4L * selFloats(moe));
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
    static StaticProgram lower(ChipConfig config, LlamaConfig c, MoeConfig moe, BlockPlacement p, Allocation x, int batch) {
        MoeFfnBlockLowering l = new MoeFfnBlockLowering(config, c, moe, p, x);
        for (int row = 0; row < batch; row++) {
            l.lowerRow(x.offset() + 4L * row * c.dim());
        }
        return l.s.build();
    }

    private void lowerRow(long x) {
        int dim = c.dim(), experts = moe.experts(), k = moe.expertsUsed();
        int[] chips = p.chips();
        int tp = chips.length, router = chips[0];
        int[] h = split(moe.expertHiddenDim(), tp, 1), d = split(dim, tp, 1);
        distributeX(x, dim);
        for (int chip : chips) {
            s.emit(chip, new MemRead(p.at(chip, "norm"), dim, S_NORM, 0));
            s.emit(chip, new RmsNorm(S_X, 0, S_NORM, S_XB, 0, dim, 1, c.rmsEps()));
        }
        matvec(router, p.slices("router", router), S_XB, S_R, 0, 0, experts);
        s.emit(router, new SxmRoute(S_R, 0, experts, k, moe.normalizeWeights(), S_SEL, 0));
        if (moe.hasSharedExpert()) {
            matvec(router, p.slices("sgate", router), S_XB, S_SEL, 2 * k, 0, 1);
            s.emit(router, new VxmUnary(UnaryOp.SIGMOID, S_SEL, 2 * k, 1, 0f));
        }
        int sel = selFloats(moe);
        if (tp > 1) {
            // The choice (indices, weights, the shared gate) goes to every other chip of the block.
            s.emit(router, new MemWrite(S_SEL, 0, sel, p.at(router, "sel")));
            for (int chip : chips) {
                if (chip != router) {
                    s.transfer(router, p.at(router, "sel"), chip, p.at(chip, "sel"), 4L * sel);
                    s.emit(chip, new MemRead(p.at(chip, "sel"), sel, S_SEL, 0));
                }
            }
        }
        for (int j = 0; j < k; j++) {
            final int chosen = j;
            ffn(h, d, (chip, tensor, in, out) -> expertMatvec(chip, tensor, chosen, in, out), "w", j == 0, k + j);
        }
        if (moe.hasSharedExpert()) {
            int[] hs = split(moe.sharedHiddenDim(), tp, 1);
            ffn(hs, d, (chip, tensor, in, out) -> matvec(chip, p.slices(tensor, chip), in, out, 0, 0, 0), "sw", false, 2 * k);
        }
        gatherHome(S_O, dim, d, "o");
        addResidualAtHome(x, dim);
    }

    /** One matrix's matvec on one chip: out[rows of the chip's slices] = W·in. */
    @FunctionalInterface
    private interface ChipMatvec {
        void emit(int chip, String tensor, int in, int out);
    }

    /**
     * One SwiGLU FFN over the block's chips (hidden split h, output rows split d) of the tensors
     * prefix1/3/2, its output scaled by S_SEL[weight] and landing in the sum S_O (first) or added to it.
     */
    private void ffn(int[] h, int[] d, ChipMatvec mv, String prefix, boolean first, int weight) {
        int[] chips = p.chips();
        int tp = chips.length, width = h[tp];
        for (int i = 0; i < tp; i++) {
            int chip = chips[i];
            mv.emit(chip, prefix + "1", S_XB, S_G);
            mv.emit(chip, prefix + "3", S_XB, S_U);
            int n = h[i + 1] - h[i];
            if (n > 0) {
                s.emit(chip, new VxmBinary(BinaryOp.SILU_MUL, S_G, h[i], S_U, h[i], n));
            }
        }
        if (tp > 1) {
            allGather(S_G, width, h, "h");
        }
        for (int i = 0; i < tp; i++) {
            int chip = chips[i];
            int n = d[i + 1] - d[i];
            if (n == 0) {
                continue;
            }
            // The first output lands in the sum itself (0 + w·y is w·y); later ones are scaled apart and added, in order.
            int out = first ? S_O : S_E;
            mv.emit(chip, prefix + "2", S_G, out);
            s.emit(chip, new VxmScaleBy(out, d[i], n, S_SEL, weight));
            if (!first) {
                s.emit(chip, new VxmBinary(BinaryOp.ADD, S_O, d[i], S_E, d[i], n));
            }
        }
    }

    /**
     * out[rowStart + r] = W_e[r]·in for the chip's rows of tensor, e the j-th chosen expert: the
     * tiles of expert 0's slices, loaded at the chosen expert's stride.
     */
    private void expertMatvec(int chip, String tensor, int j, int in, int out) {
        int experts = moe.experts();
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
