package dev.tandem.kernels;

import java.lang.foreign.MemorySegment;

/**
 * A read-only (rows, cols) weight matrix over a memory segment (usually a memory-mapped model file),
 * multiplied against F32 activations. One subclass per {@link WeightFormat}; each has a Vector API
 * path and a scalar path, and {@link KernelConfig#vectorBits()} == 0 forces the scalar one.
 *
 * CONTRACT (skeleton; the kernels work fills it in):
 *   - of(...) validates data.byteSize() >= format.bytesFor(rows*cols) and cols % blockSize == 0,
 *     throwing IllegalArgumentException naming the problem.
 *   - dot/dotScalar: sum_j W[row, j] * x[xOff + j], accumulated in fp32.
 *   - matvec: out[outOff + r] = dot(r, x, xOff) for r in [0, rows), split over Parallel.
 *   - matmul: for b in [0,batch): out[b*rows + r] = dot(r, x, b*cols); blocked so each weight row
 *     is read once per tile of activations (prefill).
 *   - dequantizeRow: dst[dstOff + j] = W[row, j] exactly (for embeddings and references).
 */
public abstract sealed class WeightMatrix permits F32Matrix, F16Matrix, BF16Matrix, Q8_0Matrix, Q4_0Matrix {
    protected final MemorySegment data;
    protected final int rows;
    protected final int cols;

    protected WeightMatrix(MemorySegment data, int rows, int cols) {
        this.data = data;
        this.rows = rows;
        this.cols = cols;
    }

    public static WeightMatrix of(WeightFormat format, MemorySegment data, int rows, int cols) {
        throw new UnsupportedOperationException("TODO");
    }

    public abstract WeightFormat format();

    public final int rows() { return rows; }

    public final int cols() { return cols; }

    public final MemorySegment data() { return data; }

    /** Bytes of weights this matrix reads in one full pass. */
    public final long byteSize() { return format().bytesFor((long) rows * cols); }

    public abstract float dot(int row, float[] x, int xOff);

    public abstract float dotScalar(int row, float[] x, int xOff);

    public abstract void dequantizeRow(int row, float[] dst, int dstOff);

    public void matvec(float[] x, int xOff, float[] out, int outOff) {
        throw new UnsupportedOperationException("TODO");
    }

    public void matmul(float[] x, float[] out, int batch) {
        throw new UnsupportedOperationException("TODO");
    }
}
