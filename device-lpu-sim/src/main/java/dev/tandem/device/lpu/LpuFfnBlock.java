package dev.tandem.device.lpu;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceFfn;
import dev.tandem.runtime.device.FfnWeights;
import dev.tandem.runtime.model.LlamaConfig;

import java.util.Map;
import java.util.function.Consumer;

/** A placed FFN block: it runs as one program. */
final class LpuFfnBlock implements DeviceFfn {
    private final ChipMemory memory;
    private final Consumer<StaticProgram> runner;
    final BlockPlacement placement;
    private final LlamaConfig c;
    private final int maxBatch;
    private boolean freed;

    LpuFfnBlock(ChipMemory memory, Consumer<StaticProgram> runner, BlockPlacement placement, LlamaConfig c, int maxBatch) {
        this.memory = memory;
        this.runner = runner;
        this.placement = placement;
        this.c = c;
        this.maxBatch = maxBatch;
    }

    private static WeightFormat[] formats(FfnWeights w) {
        return new WeightFormat[] {w.w1().format(), w.w3().format(), w.w2().format()};
    }

    /** SRAM the block would take on memory's chips. */
    static long bytes(ChipMemory memory, FfnWeights w, int maxBatch) {
        return memory.dryRunBytes((a, chips) -> FfnBlockLowering.place(memory.config(), a, chips, w.config(), formats(w), maxBatch));
    }

    /** Places the block by memory's scheme and writes its weights and norm. */
    static LpuFfnBlock upload(ChipMemory memory, ChipArray array, Consumer<StaticProgram> runner, FfnWeights w, int maxBatch) {
        BlockPlacement p = memory.placeBlock((a, chips) -> FfnBlockLowering.place(memory.config(), a, chips, w.config(), formats(w), maxBatch));
        p.writeWeights(array, Map.of("w1", w.w1(), "w3", w.w3(), "w2", w.w2()));
        p.writeEverywhere(array, "norm", w.norm());
        return new LpuFfnBlock(memory, runner, p, w.config(), maxBatch);
    }

    @Override
    public void run(DeviceBuffer x, int batch) {
        if (batch < 1 || batch > maxBatch) {
            throw new IllegalArgumentException("batch " + batch + " outside [1, " + maxBatch + "] of this block");
        }
        runner.accept(FfnBlockLowering.lower(memory.config(), c, placement, LpuBuffer.of(x).allocation, batch));
    }

    @Override
    public void close() {
        if (!freed) {
            freed = true;
            memory.free(placement);
        }
    }
}
