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

/** F16 weights: IEEE halves, widened exactly in vector lanes by {@link Vec#halfToFloat}. */
public final class F16Matrix extends WeightMatrix {
    F16Matrix(MemorySegment data, int rows, int cols) { super(data, rows, cols); }

    @Override public WeightFormat format() { return WeightFormat.F16; }

    @Override
    public float dot(int row, float[] x, int xOff) {
        if (!Vec.ENABLED) {
            return dotScalar(row, x, xOff);
        }
        long base = rowOffset(row);
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        int step = S.length();
        int j = 0;
        // Two short loads per iteration into separate accumulators, to hide the FMA latency.
        for (int bound = cols - 2 * step; j <= bound; j += 2 * step) {
            ShortVector h0 = ShortVector.fromMemorySegment(S, data, base + 2L * j, LE);
            ShortVector h1 = ShortVector.fromMemorySegment(S, data, base + 2L * (j + step), LE);
            for (int p = 0; p < S_PARTS; p++) {
                acc0 = Vec.halfToFloat(h0, p).fma(FloatVector.fromArray(F, x, xOff + j + p * FL), acc0);
                acc1 = Vec.halfToFloat(h1, p).fma(FloatVector.fromArray(F, x, xOff + j + step + p * FL), acc1);
            }
        }
        float sum = Vec.sum(acc0.add(acc1));
        for (; j < cols; j++) {
            sum += Float.float16ToFloat(data.get(SHORT_LE, base + 2L * j)) * x[xOff + j];
        }
        return sum;
    }

    @Override
    boolean hasColdTwin() {
        return true;
    }

    /**
     * {@link #dot}'s lanes: of each 2*step elements the first step go to accumulator 0 and the rest to
     * accumulator 1, element e to lane e % FL; then the two added, summed, and the tail. The half to
     * float conversion is exact in both forms.
     */
    @Override
    float dotTwin(int row, float[] x, int xOff) {
        long base = rowOffset(row);
        int step = S.length();
        float[] acc0 = new float[FL], acc1 = new float[FL];
        int j = 0;
        for (int bound = cols - 2 * step; j <= bound; j += 2 * step) {
            for (int e = 0; e < step; e++) {
                acc0[e % FL] = Math.fma(half(base, j + e), x[xOff + j + e], acc0[e % FL]);
                acc1[e % FL] = Math.fma(half(base, j + step + e), x[xOff + j + step + e], acc1[e % FL]);
            }
        }
        for (int l = 0; l < FL; l++) {
            acc0[l] = acc0[l] + acc1[l];
        }
        float sum = ColdTwins.sum(acc0);
        for (; j < cols; j++) {
            sum += half(base, j) * x[xOff + j];
        }
        return sum;
    }

    private float half(long base, int j) {
        return Float.float16ToFloat(data.get(SHORT_LE, base + 2L * j));
    }

    @Override
    public float dotScalar(int row, float[] x, int xOff) {
        long base = rowOffset(row);
        float sum = 0f;
        for (int j = 0; j < cols; j++) {
            sum += Float.float16ToFloat(data.get(SHORT_LE, base + 2L * j)) * x[xOff + j];
        }
        return sum;
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int dstOff) {
        long base = rowOffset(row);
        int j = 0;
        if (Vec.ENABLED && !ColdStart.ROWS.cold()) { // the conversion is exact: the scalar loop is its twin
            int step = S.length();
            for (int bound = cols - step; j <= bound; j += step) {
                ShortVector h = ShortVector.fromMemorySegment(S, data, base + 2L * j, LE);
                for (int p = 0; p < S_PARTS; p++) {
                    Vec.halfToFloat(h, p).intoArray(dst, dstOff + j + p * FL);
                }
            }
        }
        for (; j < cols; j++) {
            dst[dstOff + j] = Float.float16ToFloat(data.get(SHORT_LE, base + 2L * j));
        }
    }
}
