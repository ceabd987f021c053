package dev.tandem.device.lpu;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.device.DeviceWeights;

/** A weight matrix placed by rows over one or more chips. */
final class LpuWeights implements DeviceWeights {
    private final ChipMemory memory;
    final OpPrograms.Table table;
    private boolean freed;

    LpuWeights(ChipMemory memory, OpPrograms.Table table) {
        this.memory = memory;
        this.table = table;
    }

    static OpPrograms.Table tableOf(DeviceWeights w) { return ((LpuWeights) w).table; }

    @Override
    public WeightFormat format() { return table.format(); }

    @Override
    public int rows() { return table.rows(); }

    @Override
    public int cols() { return table.cols(); }

    @Override
    public void close() {
        if (!freed) {
            freed = true;
            memory.free(table);
        }
    }
}
