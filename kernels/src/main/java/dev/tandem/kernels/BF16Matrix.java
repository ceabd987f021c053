package dev.tandem.kernels;

import java.lang.foreign.MemorySegment;

/** BF16 weights. */
public final class BF16Matrix extends WeightMatrix {
    BF16Matrix(MemorySegment data, int rows, int cols) { super(data, rows, cols); }

    @Override public WeightFormat format() { return WeightFormat.BF16; }

    @Override public float dot(int row, float[] x, int xOff) { throw new UnsupportedOperationException("TODO"); }

    @Override public float dotScalar(int row, float[] x, int xOff) { throw new UnsupportedOperationException("TODO"); }

    @Override public void dequantizeRow(int row, float[] dst, int dstOff) { throw new UnsupportedOperationException("TODO"); }
}
