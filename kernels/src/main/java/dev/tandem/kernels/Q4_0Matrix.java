package dev.tandem.kernels;

import java.lang.foreign.MemorySegment;

/** Q4_0 weights. */
public final class Q4_0Matrix extends WeightMatrix {
    Q4_0Matrix(MemorySegment data, int rows, int cols) { super(data, rows, cols); }

    @Override public WeightFormat format() { return WeightFormat.Q4_0; }

    @Override public float dot(int row, float[] x, int xOff) { throw new UnsupportedOperationException("TODO"); }

    @Override public float dotScalar(int row, float[] x, int xOff) { throw new UnsupportedOperationException("TODO"); }

    @Override public void dequantizeRow(int row, float[] dst, int dstOff) { throw new UnsupportedOperationException("TODO"); }
}
