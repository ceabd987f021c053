package dev.tandem.device.gpu.opencl;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.device.DeviceWeights;

/** A weight matrix in its GGUF byte layout in one read-only cl_mem. */
final class OpenClWeights extends OpenClMemory implements DeviceWeights {
    private final WeightFormat format;
    private final int rows;
    private final int cols;

    OpenClWeights(OpenClDevice device, long mem, long bytes, WeightFormat format, int rows, int cols) {
        super(device, mem, bytes);
        this.format = format;
        this.rows = rows;
        this.cols = cols;
    }

    @Override
    public WeightFormat format() { return format; }

    @Override
    public int rows() { return rows; }

    @Override
    public int cols() { return cols; }

    @Override
    public String toString() { return "OpenClWeights[" + format + " " + rows + "x" + cols + "]"; }
}
