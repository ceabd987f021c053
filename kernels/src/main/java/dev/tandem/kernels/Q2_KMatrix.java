package dev.tandem.kernels;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q2_K weights: super-blocks of {uint8 scales[16]; uint8 qs[64]; f16 d; f16 dmin} (84 bytes).
 * scales[s] holds sub-block s's scale in its low nibble and its min in the high one; in each half h
 * of 128 elements, element r is bits 2(r/32) of qs[32h + r%32]; value = d*sc*q - dmin*m.
 */
public final class Q2_KMatrix extends KQuantMatrix {
    private static final int QS = 16;
    private static final int D = 80;

    Q2_KMatrix(MemorySegment data, int rows, int cols) { super(data, rows, cols); }

    @Override public WeightFormat format() { return WeightFormat.Q2_K; }

    @Override
    Parallel.RangeBody rowsTask(Q8_KActivations a, int batch, float[] out, int outOff) {
        boolean vector = Vec.ENABLED;
        int perToken = cols / QK;
        return (start, end) -> {
            for (int r = start; r < end; r++) {
                for (int b = 0; b < batch; b++) {
                    out[outOff + b * rows + r] = rowDot(r, a, b * perToken, vector);
                }
            }
        };
    }

    @Override
    float rowDot(int row, Q8_KActivations a, int blk0, boolean vector) {
        long base = rowOffset(row);
        int[] sc = new int[SUBS];
        int[] m = new int[SUBS];
        float sum = 0f;
        for (int blk = 0; blk < cols / QK; blk++) {
            long o = base + (long) blk * blockBytes;
            int ab = blk0 + blk;
            scales(o, sc, m);
            int isum = vector ? scaledSum(o, sc, a.q, ab * QK) : scaledSumScalar(o, sc, a.q, ab * QK);
            sum += blockValue(o, a.d[ab], isum, minSum(m, a.bsums, ab * SUBS));
        }
        return sum;
    }

    @Override
    void scales(long o, int[] sc, int[] m) {
        for (int s = 0; s < SUBS; s++) {
            int b = u8(o + s);
            sc[s] = b & 0x0F;
            m[s] = b >>> 4;
        }
    }

    @Override
    int quant(long o, int e) {
        int r = e & 127;
        return (u8(o + QS + (e >>> 7) * 32 + (r & 31)) >>> (2 * (r >>> 5))) & 3;
    }

    @Override
    int scaledSum(long o, int[] sc, byte[] qx, int qxOff) {
        IntVector acc = IntVector.zero(Vec.I);
        for (int e = 0; e < QK; e += Vec.B.length()) {
            int r = e & 127;
            ByteVector q = bits(bytes(o + QS + (e >>> 7) * 32 + (r & 31)), 2 * (r >>> 5), 3);
            acc = accumulate(acc, q, ByteVector.fromArray(Vec.B, qx, qxOff + e), sc[e >>> 4]);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    @Override
    float superScale(long o) {
        return half(o + D);
    }

    @Override
    float superMin(long o) {
        return half(o + D + 2);
    }

    @Override
    int maxScaledQuant() {
        return 45; // q <= 3, sc <= 15
    }

    @Override
    float dequantized(long o, int e, int[] sc, int[] m) {
        return half(o + D) * sc[e >>> 4] * quant(o, e) - half(o + D + 2) * m[e >>> 4];
    }
}
