package dev.tandem.kernels;

import static dev.tandem.kernels.Vec.F;
import static dev.tandem.kernels.Vec.FL;
import static dev.tandem.kernels.Vec.FLOAT_LE;
import static dev.tandem.kernels.Vec.LE;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/** F32 weights: little-endian IEEE floats, read straight from the segment. */
public final class F32Matrix extends WeightMatrix {
    F32Matrix(MemorySegment data, int rows, int cols) { super(data, rows, cols); }

    @Override public WeightFormat format() { return WeightFormat.F32; }

    @Override
    public float dot(int row, float[] x, int xOff) {
        if (!Vec.ENABLED) {
            return dotScalar(row, x, xOff);
        }
        long b = rowOffset(row);
        FloatVector a = FloatVector.zero(F);
        int j = 0;
        for (int bound = cols - FL; j <= bound; j += FL) {
            a = w(b + 4L * j).fma(FloatVector.fromArray(F, x, xOff + j), a);
        }
        return tail(Vec.sum(a), b, j, x, xOff);
    }

    /**
     * Four rows per pass, each with exactly {@link #dot}'s arithmetic (so a row's bits do not depend
     * on which rows share its pass, nor on the thread count). Four independent FMA chains hide the
     * FMA latency that one row's chain exposes, and one x load feeds four rows: decode's rows are
     * short (768 to 4096 values), where per-row loops ran at half the memory bandwidth.
     */
    @Override
    protected void matvecRows(int start, int end, float[] x, int xOff, float[] out, int outOff) {
        int r = start;
        if (Vec.ENABLED) {
            for (; r + 3 < end; r += 4) {
                rowOffset(r + 3);
                long b0 = rowOffset(r), b1 = b0 + rowBytes, b2 = b1 + rowBytes, b3 = b2 + rowBytes;
                FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
                int j = 0;
                for (int bound = cols - FL; j <= bound; j += FL) {
                    FloatVector xv = FloatVector.fromArray(F, x, xOff + j);
                    long o = 4L * j;
                    a0 = w(b0 + o).fma(xv, a0);
                    a1 = w(b1 + o).fma(xv, a1);
                    a2 = w(b2 + o).fma(xv, a2);
                    a3 = w(b3 + o).fma(xv, a3);
                }
                out[outOff + r] = tail(Vec.sum(a0), b0, j, x, xOff);
                out[outOff + r + 1] = tail(Vec.sum(a1), b1, j, x, xOff);
                out[outOff + r + 2] = tail(Vec.sum(a2), b2, j, x, xOff);
                out[outOff + r + 3] = tail(Vec.sum(a3), b3, j, x, xOff);
            }
        }
        for (; r < end; r++) {
            out[outOff + r] = dot(r, x, xOff);
        }
    }

    /** Gemm's micro-kernels accumulate each (b, r) exactly as {@link #dot} does. */
    @Override
    protected void matmulVector(float[] x, float[] out, int batch) {
        Gemm.matmul(this, x, out, batch);
    }

    @Override
    boolean hasColdTwin() {
        return true;
    }

    /** {@link #dot}'s lanes: element j goes to lane j % FL of one fused accumulator, then the tail. */
    @Override
    float dotTwin(int row, float[] x, int xOff) {
        long b = rowOffset(row);
        float[] acc = new float[FL];
        int j = 0;
        for (int bound = cols - FL; j <= bound; j += FL) {
            for (int l = 0; l < FL; l++) {
                acc[l] = Math.fma(data.get(FLOAT_LE, b + 4L * (j + l)), x[xOff + j + l], acc[l]);
            }
        }
        return tail(ColdTwins.sum(acc), b, j, x, xOff);
    }

    private FloatVector w(long offset) {
        return FloatVector.fromMemorySegment(F, data, offset, LE);
    }

    /** Adds the columns from j on that fill no whole vector. */
    private float tail(float sum, long base, int j, float[] x, int xOff) {
        for (; j < cols; j++) {
            sum += data.get(FLOAT_LE, base + 4L * j) * x[xOff + j];
        }
        return sum;
    }

    @Override
    public float dotScalar(int row, float[] x, int xOff) {
        long base = rowOffset(row);
        float sum = 0f;
        for (int j = 0; j < cols; j++) {
            sum += data.get(FLOAT_LE, base + 4L * j) * x[xOff + j];
        }
        return sum;
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int dstOff) {
        MemorySegment.copy(data, FLOAT_LE, rowOffset(row), dst, dstOff, cols);
    }
}
