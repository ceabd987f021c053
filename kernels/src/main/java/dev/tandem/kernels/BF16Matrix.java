package dev.tandem.kernels;

import static dev.tandem.kernels.Vec.F;
import static dev.tandem.kernels.Vec.FL;
import static dev.tandem.kernels.Vec.LE;
import static dev.tandem.kernels.Vec.S;
import static dev.tandem.kernels.Vec.SHORT_LE;
import static dev.tandem.kernels.Vec.S_PARTS;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * BF16 weights: each value is the upper 16 bits of an F32, so widening is a 16-bit shift. Batch-1
 * dots read a native copy of the matrix where {@link ResidentMemory}'s budget allows, as F16's do
 * (the same values, so the same bits): the mapping's page-cache pages streamed slower than
 * anonymous memory (docs/benchmarks.md, "BF16 weights in native memory").
 */
public final class BF16Matrix extends WeightMatrix {
    BF16Matrix(MemorySegment data, int rows, int cols) { super(data, rows, cols); }

    @Override public WeightFormat format() { return WeightFormat.BF16; }

    private final ResidentMemory.Lazy resident = new ResidentMemory.Lazy();

    /** The resident copy, else the mapping. */
    private MemorySegment batchOneSource() {
        MemorySegment copy = resident.get(data, KernelConfig.bf16Resident());
        return copy != null ? copy : data;
    }

    @Override
    public float dot(int row, float[] x, int xOff) {
        if (!Vec.ENABLED) {
            return dotScalar(row, x, xOff);
        }
        return dotOn(batchOneSource(), row, x, xOff);
    }

    /** Tests: the row's batch-1 dot read from the mapping, whether or not a resident copy exists. */
    float dotFromMapping(int row, float[] x, int xOff) {
        return dotOn(data, row, x, xOff);
    }

    private float dotOn(MemorySegment src, int row, float[] x, int xOff) {
        long b = rowOffset(row);
        int step = S.length();
        FloatVector a = FloatVector.zero(F);
        int j = 0;
        for (int bound = cols - step; j <= bound; j += step) {
            ShortVector h = halves(src, b, j);
            for (int p = 0; p < S_PARTS; p++) {
                a = Vec.bf16ToFloat(h, p).fma(FloatVector.fromArray(F, x, xOff + j + p * FL), a);
            }
        }
        return tail(Vec.sum(a), src, b, j, x, xOff);
    }

    /**
     * Four rows per pass, each with exactly {@link #dot}'s arithmetic (so a row's bits do not depend
     * on which rows share its pass, nor on the thread count). Four independent FMA chains hide the
     * latency that one row's chain exposes, and each x load feeds four rows.
     */
    @Override
    protected void matvecRows(int start, int end, float[] x, int xOff, float[] out, int outOff) {
        int r = start;
        if (Vec.ENABLED) {
            MemorySegment src = batchOneSource(); // looked up once a range, not per row
            int step = S.length();
            for (; r + 3 < end; r += 4) {
                rowOffset(r + 3);
                long b0 = rowOffset(r), b1 = b0 + rowBytes, b2 = b1 + rowBytes, b3 = b2 + rowBytes;
                FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
                int j = 0;
                for (int bound = cols - step; j <= bound; j += step) {
                    ShortVector h0 = halves(src, b0, j), h1 = halves(src, b1, j), h2 = halves(src, b2, j), h3 = halves(src, b3, j);
                    for (int p = 0; p < S_PARTS; p++) {
                        FloatVector xv = FloatVector.fromArray(F, x, xOff + j + p * FL);
                        a0 = Vec.bf16ToFloat(h0, p).fma(xv, a0);
                        a1 = Vec.bf16ToFloat(h1, p).fma(xv, a1);
                        a2 = Vec.bf16ToFloat(h2, p).fma(xv, a2);
                        a3 = Vec.bf16ToFloat(h3, p).fma(xv, a3);
                    }
                }
                out[outOff + r] = tail(Vec.sum(a0), src, b0, j, x, xOff);
                out[outOff + r + 1] = tail(Vec.sum(a1), src, b1, j, x, xOff);
                out[outOff + r + 2] = tail(Vec.sum(a2), src, b2, j, x, xOff);
                out[outOff + r + 3] = tail(Vec.sum(a3), src, b3, j, x, xOff);
            }
            for (; r < end; r++) {
                out[outOff + r] = dotOn(src, r, x, xOff);
            }
        }
        for (; r < end; r++) {
            out[outOff + r] = dotScalar(r, x, xOff);
        }
    }

    @Override
    boolean hasColdTwin() {
        return true;
    }

    /** {@link #dot}'s lanes: element j goes to lane j % FL of one fused accumulator (a step is S_PARTS whole vectors), then the tail. */
    @Override
    float dotTwin(int row, float[] x, int xOff) {
        long b = rowOffset(row);
        int step = S.length();
        float[] acc = new float[FL];
        int j = 0;
        for (int bound = cols - step; j <= bound; j += step) {
            for (int e = 0; e < step; e++) {
                acc[e % FL] = Math.fma(Vec.bf16(data.get(SHORT_LE, b + 2L * (j + e))), x[xOff + j + e], acc[e % FL]);
            }
        }
        return tail(ColdTwins.sum(acc), data, b, j, x, xOff);
    }

    private ShortVector halves(MemorySegment src, long base, int j) {
        return ShortVector.fromMemorySegment(S, src, base + 2L * j, LE);
    }

    /** Adds the columns from j on that fill no whole vector. */
    private float tail(float sum, MemorySegment src, long base, int j, float[] x, int xOff) {
        for (; j < cols; j++) {
            sum += Vec.bf16(src.get(SHORT_LE, base + 2L * j)) * x[xOff + j];
        }
        return sum;
    }

    @Override
    public float dotScalar(int row, float[] x, int xOff) {
        long base = rowOffset(row);
        float sum = 0f;
        for (int j = 0; j < cols; j++) {
            sum += Vec.bf16(data.get(SHORT_LE, base + 2L * j)) * x[xOff + j];
        }
        return sum;
    }

    /** {@link #dot}'s chains (one accumulator, S.length() values per step), which {@link TokenGemm} reproduces: keep the two in step. */
    static final TokenGemm.Layout DOT_LAYOUT = new TokenGemm.Layout(1, S_PARTS);

    /** Token-tiled for a vector's worth of tokens and more, each (b, r) bit-identical to {@link #dot}. */
    @Override
    protected void matmulVector(float[] x, float[] out, int batch) {
        if (TokenGemm.serves(batch)) {
            TokenGemm.matmul(this, DOT_LAYOUT, x, out, batch);
            return;
        }
        super.matmulVector(x, out, batch);
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int dstOff) {
        long base = rowOffset(row);
        int j = 0;
        if (Vec.ENABLED && !ColdStart.ROWS.cold(1)) { // the conversion is exact: the scalar loop is its twin
            int step = S.length();
            for (int bound = cols - step; j <= bound; j += step) {
                ShortVector h = ShortVector.fromMemorySegment(S, data, base + 2L * j, LE);
                for (int p = 0; p < S_PARTS; p++) {
                    Vec.bf16ToFloat(h, p).intoArray(dst, dstOff + j + p * FL);
                }
            }
        }
        for (; j < cols; j++) {
            dst[dstOff + j] = Vec.bf16(data.get(SHORT_LE, base + 2L * j));
        }
    }
}
