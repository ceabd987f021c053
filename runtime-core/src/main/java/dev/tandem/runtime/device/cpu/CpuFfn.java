package dev.tandem.runtime.device.cpu;

import dev.tandem.kernels.Ops;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceFfn;
import dev.tandem.runtime.device.FfnWeights;
import dev.tandem.runtime.model.LlamaConfig;

/**
 * The CPU's dense FFN block: the primitive ops' sequence (rmsnorm, W1 and W3, silu·, W2, residual),
 * with W1 and W3 in one {@link WeightMatrix#matmulEach} call, since both read the same normalised
 * rows: one activation quantization and one pool hand-off instead of two. Every value is what the
 * separate ops give it, so the block computes exactly what {@code ReferenceForward} does.
 */
final class CpuFfn implements DeviceFfn {
    private final LlamaConfig c;
    private final FfnWeights w;
    private final int maxBatch;
    private final WeightMatrix[] gateUp;
    private final float[] xb, hb, hb2, o; // (maxBatch, dim | hidden | hidden | dim)
    private final float[][] gateUpOut;

    CpuFfn(FfnWeights w, int maxBatch) {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
        }
        this.c = w.config();
        this.w = w;
        this.maxBatch = maxBatch;
        this.gateUp = new WeightMatrix[] {w.w1(), w.w3()};
        xb = new float[maxBatch * c.dim()];
        hb = new float[maxBatch * c.hiddenDim()];
        hb2 = new float[maxBatch * c.hiddenDim()];
        o = new float[maxBatch * c.dim()];
        gateUpOut = new float[][] {hb, hb2};
    }

    @Override
    public void run(DeviceBuffer xBuffer, int batch) {
        if (batch < 1 || batch > maxBatch) {
            throw new IllegalArgumentException("an FFN step has 1 to " + maxBatch + " rows, got " + batch);
        }
        float[] x = CpuDevice.array(xBuffer);
        int dim = c.dim();
        for (int b = 0; b < batch; b++) {
            Ops.rmsnorm(xb, b * dim, x, b * dim, w.norm(), dim, c.rmsEps());
        }
        WeightMatrix.matmulEach(gateUp, xb, gateUpOut, batch);
        Ops.siluMul(hb, 0, hb2, 0, batch * c.hiddenDim());
        CpuDevice.matmul(w.w2(), hb, o, batch);
        Ops.addInPlace(x, 0, o, 0, batch * dim);
    }

    @Override
    public void close() {
        // Heap arrays and views of the model's mapping: nothing to free.
    }
}
