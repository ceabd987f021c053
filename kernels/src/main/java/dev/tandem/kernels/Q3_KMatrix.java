package dev.tandem.kernels;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q3_K weights: super-blocks of {uint8 hmask[32]; uint8 qs[64]; uint8 scales[12]; f16 d} (110 bytes).
 * Low two bits as in Q2_K; the third is bit e/32 of hmask[e%32], and a clear bit means -4 (q in
 * [-4, 3]). Sixteen six-bit scales: the low nibble of scales[s%8] (shifted by 4(s/8)) and two bits of
 * scales[8 + s%4] (shifted by 2(s/4)), minus 32. value = d*sc*q.
 */
public final class Q3_KMatrix extends KQuantMatrix {
    private static final int QS = 32;
    private static final int SCALES = 96;
    private static final int D = 108;

    Q3_KMatrix(MemorySegment data, int rows, int cols) { super(data, rows, cols); }

    @Override public WeightFormat format() { return WeightFormat.Q3_K; }

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
            sum += blockValue(o, a.d[ab], isum, 0);
        }
        return sum;
    }

    @Override
    void scales(long o, int[] sc, int[] m) {
        for (int s = 0; s < SUBS; s++) {
            int low = (u8(o + SCALES + (s & 7)) >>> (4 * (s >>> 3))) & 0x0F;
            int high = (u8(o + SCALES + 8 + (s & 3)) >>> (2 * (s >>> 2))) & 3;
            sc[s] = (low | high << 4) - 32;
        }
    }

    @Override
    int quant(long o, int e) {
        int r = e & 127;
        int low = (u8(o + QS + (e >>> 7) * 32 + (r & 31)) >>> (2 * (r >>> 5))) & 3;
        int high = (u8(o + (e & 31)) >>> (e >>> 5)) & 1;
        return low + 4 * high - 4;
    }

    @Override
    int scaledSum(long o, int[] sc, byte[] qx, int qxOff) {
        IntVector acc = IntVector.zero(Vec.I);
        for (int e = 0; e < QK; e += Vec.B.length()) {
            int r = e & 127;
            ByteVector low = bits(bytes(o + QS + (e >>> 7) * 32 + (r & 31)), 2 * (r >>> 5), 3);
            ByteVector high = shl(bits(bytes(o + (e & 31)), e >>> 5, 1), 2);
            ByteVector q = low.add(high).sub((byte) 4);
            acc = accumulate(acc, q, ByteVector.fromArray(Vec.B, qx, qxOff + e), sc[e >>> 4]);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    @Override
    float superScale(long o) {
        return half(o + D);
    }

    @Override
    int maxScaledQuant() {
        return 128; // |q| <= 4, |sc| <= 32
    }

    @Override
    float dequantized(long o, int e, int[] sc, int[] m) {
        return half(o + D) * sc[e >>> 4] * quant(o, e);
    }
}
