package dev.tandem.device.lpu;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceFfn;
import dev.tandem.runtime.device.MoeFfnWeights;
import dev.tandem.runtime.model.ExpertFfn;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.MoeConfig;
import dev.tandem.runtime.model.MoeLayer;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A placed mixture-of-experts FFN block: every expert resident, split over the block's chips, and
 * each step one program ({@link MoeFfnBlockLowering}) that routes on chip and streams only the
 * chosen experts' tiles. Its cycles do not depend on the choice, so the compiler prices it exactly.
 */
final class LpuMoeFfnBlock implements DeviceFfn {
    private final ChipMemory memory;
    private final Consumer<StaticProgram> runner;
    final BlockPlacement placement;
    private final LlamaConfig c;
    private final MoeConfig moe;
    private final int maxBatch;
    private boolean freed;

    private LpuMoeFfnBlock(ChipMemory memory, Consumer<StaticProgram> runner, BlockPlacement placement, LlamaConfig c,
                           int maxBatch) {
        this.memory = memory;
        this.runner = runner;
        this.placement = placement;
        this.c = c;
        this.moe = c.arch().moe();
        this.maxBatch = maxBatch;
    }

    /**
     * The block's formats in {@link MoeFfnBlockLowering#place}'s order. Every expert's tensors must
     * share expert 0's shapes and formats (they are slices of one GGUF tensor each): the indexed load
     * reads any expert's tiles at one stride.
     */
    static WeightFormat[] formats(MoeFfnWeights w) {
        MoeConfig moe = w.config().arch().moe();
        MoeLayer l = w.layer();
        int dim = w.config().dim(), hidden = moe.expertHiddenDim();
        require("router", l.router(), moe.experts(), dim, l.router().format());
        if (l.experts().length != moe.experts()) {
            throw new IllegalArgumentException("the layer has " + l.experts().length + " experts, the mixture " + moe.experts());
        }
        ExpertFfn first = l.experts()[0];
        for (int e = 0; e < l.experts().length; e++) {
            ExpertFfn x = l.experts()[e];
            require("expert " + e + " gate", x.gate(), hidden, dim, first.gate().format());
            require("expert " + e + " up", x.up(), hidden, dim, first.up().format());
            require("expert " + e + " down", x.down(), dim, hidden, first.down().format());
        }
        if ((l.shared() != null) != moe.hasSharedExpert() || (l.sharedGate() != null) != moe.hasSharedExpert()) {
            throw new IllegalArgumentException("the layer's shared expert and gate disagree with the mixture ("
                    + (moe.hasSharedExpert() ? "one" : "none") + ")");
        }
        if (!moe.hasSharedExpert()) {
            return new WeightFormat[] {l.router().format(), first.gate().format(), first.up().format(), first.down().format()};
        }
        int sh = moe.sharedHiddenDim();
        ExpertFfn s = l.shared();
        require("shared expert's gate", l.sharedGate(), 1, dim, l.sharedGate().format());
        require("shared expert gate", s.gate(), sh, dim, s.gate().format());
        require("shared expert up", s.up(), sh, dim, s.up().format());
        require("shared expert down", s.down(), dim, sh, s.down().format());
        return new WeightFormat[] {l.router().format(), first.gate().format(), first.up().format(), first.down().format(),
                l.sharedGate().format(), s.gate().format(), s.up().format(), s.down().format()};
    }

    private static void require(String what, WeightMatrix m, int rows, int cols, WeightFormat format) {
        if (m.rows() != rows || m.cols() != cols || m.format() != format) {
            throw new IllegalArgumentException("the mixture's " + what + " is a " + m.format() + " " + m.rows() + "x" + m.cols()
                    + " matrix, the block needs " + format + " " + rows + "x" + cols);
        }
    }

    /** SRAM the block would take on memory's chips. */
    static long bytes(ChipMemory memory, MoeFfnWeights w) {
        WeightFormat[] formats = formats(w);
        LlamaConfig c = w.config();
        return memory.dryRunBytes((a, chips) -> MoeFfnBlockLowering.place(memory.config(), a, chips, c, c.arch().moe(), formats));
    }

    /** Places the block by memory's scheme (over more chips when one does not hold it) and writes its weights and norm. */
    static LpuMoeFfnBlock upload(ChipMemory memory, ChipArray array, Consumer<StaticProgram> runner, MoeFfnWeights w, int maxBatch) {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
        }
        WeightFormat[] formats = formats(w);
        LlamaConfig c = w.config();
        BlockPlacement p = memory.placeBlock((a, chips) -> MoeFfnBlockLowering.place(memory.config(), a, chips, c, c.arch().moe(), formats));
        MoeLayer l = w.layer();
        Map<String, WeightMatrix> matrices = new HashMap<>();
        matrices.put("router", l.router());
        for (int e = 0; e < l.experts().length; e++) {
            matrices.put(BlockPlacement.expertTensor("w1", e), l.experts()[e].gate());
            matrices.put(BlockPlacement.expertTensor("w3", e), l.experts()[e].up());
            matrices.put(BlockPlacement.expertTensor("w2", e), l.experts()[e].down());
        }
        if (l.shared() != null) {
            matrices.put("sgate", l.sharedGate());
            matrices.put("sw1", l.shared().gate());
            matrices.put("sw3", l.shared().up());
            matrices.put("sw2", l.shared().down());
        }
        p.writeWeights(array, matrices);
        p.writeEverywhere(array, "norm", w.norm());
        return new LpuMoeFfnBlock(memory, runner, p, c, maxBatch);
    }

    @Override
    public void run(DeviceBuffer x, int batch) {
        if (batch < 1 || batch > maxBatch) {
            throw new IllegalArgumentException("batch " + batch + " outside [1, " + maxBatch + "] of this block");
        }
        runner.accept(MoeFfnBlockLowering.lower(memory.config(), c, moe, placement, LpuBuffer.of(x).allocation, batch));
    }

    @Override
    public void close() {
        if (!freed) {
            freed = true;
            memory.free(placement);
        }
    }
}
