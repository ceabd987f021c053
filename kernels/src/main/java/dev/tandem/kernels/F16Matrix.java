package dev.tandem.kernels;

import java.lang.foreign.MemorySegment;

/** F16 weights. */
public final class F16Matrix extends WeightMatrix {
    F16Matrix(MemorySegment data, int rows, int cols) { super(data, rows, cols); }

    @Override public WeightFormat format() { return WeightFormat.F16; }

    @Override public float dot(int row, float[] x, int xOff) { throw new UnsupportedOperationException("TODO"); }

    @Override public float dotScalar(int row, float[] x, int xOff) { throw new UnsupportedOperationException("TODO"); }

    @Override public void dequantizeRow(int row, float[] dst, int dstOff) { throw new UnsupportedOperationException("TODO"); }
}
