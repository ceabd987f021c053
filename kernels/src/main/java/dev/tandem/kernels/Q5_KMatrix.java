package dev.tandem.kernels;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q5_K weights: super-blocks of {f16 d; f16 dmin; uint8 scales[12]; uint8 qh[32]; uint8 qs[128]}
 * (176 bytes). Scales and low nibbles as Q4_K; the fifth bit of element e is bit e/32 of qh[e%32].
 */
public final class Q5_KMatrix extends KQuantMatrix {
    private static final int SCALES = 4;
    private static final int QH = 16;
    private static final int QS = 48;

    Q5_KMatrix(MemorySegment data, int rows, int cols) { super(data, rows, cols); }

    @Override public WeightFormat format() { return WeightFormat.Q5_K; }

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
        if (vector && IntDot.WIDE) {
            return rowDotWide(row, a, blk0);
        }
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

    /**
     * {@link #rowDot}'s loop with the 16-bit product kernel, as Q4_K's: the header read as two longs
     * ({@link #head}), scales and mins unpacked from them, blockValue's float operations written out.
     * Written again here rather than shared through KQuantMatrix: in one shared loop the call to each
     * format's scaledSumWide would be a virtual one per super-block, which C2 need not inline.
     */
    private float rowDotWide(int row, Q8_KActivations a, int blk0) {
        long base = rowOffset(row);
        float sum = 0f;
        for (int blk = 0; blk < cols / QK; blk++) {
            long o = base + (long) blk * blockBytes;
            int ab = blk0 + blk;
            long head = head(o), packed = packed(o);
            int isum = scaledSumWide(o, packedScales(head, packed), a.qs, ab * QK);
            int msum = packedMinSum(packedMins(packed), a.bsums, ab * SUBS);
            sum += a.d[ab] * (Float.float16ToFloat((short) head) * isum - Float.float16ToFloat((short) (head >>> 16)) * msum);
        }
        return sum;
    }

    @Override
    void scales(long o, int[] sc, int[] m) {
        for (int j = 0; j < 8; j++) {
            sc[2 * j] = sc[2 * j + 1] = packedScale(o + SCALES, j);
            m[2 * j] = m[2 * j + 1] = packedMin(o + SCALES, j);
        }
    }

    @Override
    int quant(long o, int e) {
        int low = (u8(o + QS + (e >>> 6) * 32 + (e & 31)) >>> (4 * ((e >>> 5) & 1))) & 0x0F;
        int high = (u8(o + QH + (e & 31)) >>> (e >>> 5)) & 1;
        return low | high << 4;
    }

    @Override
    int scaledSum(long o, int[] sc, byte[] qx, int qxOff) {
        IntVector acc = IntVector.zero(Vec.I);
        for (int e = 0; e < QK; e += Vec.B.length()) {
            ByteVector low = bits(bytes(o + QS + (e >>> 6) * 32 + (e & 31)), 4 * ((e >>> 5) & 1), 0x0F);
            ByteVector high = shl(bits(bytes(o + QH + (e & 31)), e >>> 5, 1), 4);
            acc = accumulate(acc, low.or(high), ByteVector.fromArray(Vec.B, qx, qxOff + e), sc[e >>> 4]);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** {@link #scaledSum} in 16-bit products for the block at o. */
    int scaledSumWide(long o, short[] qx, int qxOff) {
        return scaledSumWide(o, packedScales(head(o), packed(o)), qx, qxOff);
    }

    /**
     * {@link #scaledSum} in 16-bit products, as Q4_K's with the fifth bit (scale j in byte j of sc):
     * q in [0, 31], so the two halves of a 32-value sub-block (at most 2 * 31 * 127) are added in
     * shorts before pairing.
     */
    private int scaledSumWide(long o, long sc, short[] qx, int qxOff) {
        // One 32-value sub-block per pass, all into one int vector reduced once (the sum is exact,
        // so the order is free). The vector code sits once in the loop body: larger bodies exceed
        // C2's node budget and box the vectors (measured: two sub-blocks per pass, 1.4x the time).
        // Sub-block s: nibble s%2 of qs[32(s/2)..+32), bit s of qh[0..32).
        IntVector acc = IntVector.zero(PAIRS);
        for (int s = 0; s < 8; s++) {
            int c = s >>> 1, nibble = 4 * (s & 1);
            ShortVector q0 = wideBytes(o + QS + c * 32).lanewise(VectorOperators.LSHR, nibble).and((short) 0x0F)
                    .or(fifth(wideBytes(o + QH), s));
            ShortVector q1 = wideBytes(o + QS + c * 32 + 16).lanewise(VectorOperators.LSHR, nibble).and((short) 0x0F)
                    .or(fifth(wideBytes(o + QH + 16), s));
            int e = qxOff + s * 32;
            acc = acc.add(scaledPairs(q0.mul(wideActs(qx, e)).add(q1.mul(wideActs(qx, e + 16))), (int) (sc >>> (8 * s)) & 0xFF));
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** Bit n of each qh byte, moved to bit 4 (the fifth bit of the weight). */
    private static ShortVector fifth(ShortVector qh, int n) {
        return qh.lanewise(VectorOperators.LSHR, n).lanewise(VectorOperators.LSHL, 4).and((short) 0x10);
    }

    @Override
    float superScale(long o) {
        return half(o);
    }

    @Override
    float superMin(long o) {
        return half(o + 2);
    }

    @Override
    int maxScaledQuant() {
        return 1953; // q <= 31, sc <= 63
    }

    @Override
    float dequantized(long o, int e, int[] sc, int[] m) {
        return half(o) * sc[e >>> 4] * quant(o, e) - half(o + 2) * m[e >>> 4];
    }
}
