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
        long base = rowOffset(row);
        // Four independent accumulators hide the FMA latency; the loop is then bound by memory.
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        FloatVector acc2 = FloatVector.zero(F), acc3 = FloatVector.zero(F);
        int j = 0;
        for (int bound = cols - 4 * FL; j <= bound; j += 4 * FL) {
            long o = base + 4L * j;
            acc0 = FloatVector.fromMemorySegment(F, data, o, LE).fma(FloatVector.fromArray(F, x, xOff + j), acc0);
            acc1 = FloatVector.fromMemorySegment(F, data, o + 4L * FL, LE).fma(FloatVector.fromArray(F, x, xOff + j + FL), acc1);
            acc2 = FloatVector.fromMemorySegment(F, data, o + 8L * FL, LE).fma(FloatVector.fromArray(F, x, xOff + j + 2 * FL), acc2);
            acc3 = FloatVector.fromMemorySegment(F, data, o + 12L * FL, LE).fma(FloatVector.fromArray(F, x, xOff + j + 3 * FL), acc3);
        }
        for (int bound = cols - FL; j <= bound; j += FL) {
            acc0 = FloatVector.fromMemorySegment(F, data, base + 4L * j, LE).fma(FloatVector.fromArray(F, x, xOff + j), acc0);
        }
        float sum = acc0.add(acc1).add(acc2.add(acc3)).reduceLanes(VectorOperators.ADD);
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
