package dev.tandem.device.gpu.cuda;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.device.DeviceWeights;
import jcuda.driver.CUdeviceptr;

/** A weight matrix in its GGUF byte layout in one device allocation. */
final class CudaWeights extends CudaMemory implements DeviceWeights {
    private final WeightFormat format;
    private final int rows;
    private final int cols;

    CudaWeights(CudaDevice device, CUdeviceptr ptr, long bytes, WeightFormat format, int rows, int cols) {
        super(device, ptr, bytes);
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
    public String toString() { return "CudaWeights[" + format + " " + rows + "x" + cols + "]"; }
}
