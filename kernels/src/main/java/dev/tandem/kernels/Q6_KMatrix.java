package dev.tandem.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q6_K weights: super-blocks of {uint8 ql[128]; uint8 qh[64]; int8 scales[16]; f16 d} (210 bytes).
 * In each half h of 128 elements, element r has its low nibble in nibble r/64 of ql[64h + r%64] and
 * its two high bits at bits 2(r/32) of qh[32h + r%32]; value = d*scales[e/16]*(q-32).
 */
public final class Q6_KMatrix extends KQuantMatrix {
    private static final int QH = 128;
    private static final int SCALES = 192;
    private static final int D = 208;

    Q6_KMatrix(MemorySegment data, int rows, int cols) { super(data, rows, cols); }

    @Override public WeightFormat format() { return WeightFormat.Q6_K; }

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
            int isum = !vector ? scaledSumScalar(o, sc, a.q, ab * QK)
                    : IntDot.WIDE ? scaledSumWide(o, sc, a.qs, ab * QK, a.bsums, ab * SUBS)
                    : scaledSum(o, sc, a.q, ab * QK);
            sum += blockValue(o, a.d[ab], isum, 0);
        }
        return sum;
    }

    @Override
    void scales(long o, int[] sc, int[] m) {
        for (int s = 0; s < SUBS; s++) {
            sc[s] = data.get(ValueLayout.JAVA_BYTE, o + SCALES + s);
        }
    }

    @Override
    int quant(long o, int e) {
        int h = e >>> 7;
        int r = e & 127;
        int low = (u8(o + h * 64 + (r & 63)) >>> (4 * (r >>> 6))) & 0x0F;
        int high = (u8(o + QH + h * 32 + (r & 31)) >>> (2 * (r >>> 5))) & 3;
        return (low | high << 4) - 32;
    }

    @Override
    void quants(long o, byte[] b, int[] q) {
        MemorySegment.copy(data, ValueLayout.JAVA_BYTE, o, b, 0, blockBytes);
        for (int h = 0; h < 2; h++) {
            for (int r = 0; r < 128; r++) {
                int low = ((b[h * 64 + (r & 63)] & 0xFF) >>> (4 * (r >>> 6))) & 0x0F;
                int high = ((b[QH + h * 32 + (r & 31)] & 0xFF) >>> (2 * (r >>> 5))) & 3;
                q[h * 128 + r] = (low | high << 4) - 32;
            }
        }
    }

    @Override
    int scaledSum(long o, int[] sc, byte[] qx, int qxOff) {
        IntVector acc = IntVector.zero(Vec.I);
        for (int e = 0; e < QK; e += Vec.B.length()) {
            int h = e >>> 7;
            int r = e & 127;
            ByteVector low = bits(bytes(o + h * 64 + (r & 63)), 4 * (r >>> 6), 0x0F);
            ByteVector high = bits(bytes(o + QH + h * 32 + (r & 31)), 2 * (r >>> 5), 3);
            ByteVector q = low.or(shl(high, 4)).sub((byte) 32);
            acc = accumulate(acc, q, ByteVector.fromArray(Vec.B, qx, qxOff + e), sc[e >>> 4]);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * {@link #scaledSum} in 16-bit products: q is taken unsigned (q+32 in [0, 63], so a product with
     * |qx| <= 127 fits a short) and the 32 is subtracted once per sub-block through the activations'
     * block sums. Each group of three 16-byte loads (two of ql, one of qh) gives four sub-blocks.
     */
    int scaledSumWide(long o, int[] sc, short[] qx, int qxOff, int[] bsums, int bOff) {
        int sum = 0;
        // One call site, so C2 inlines one copy of the vector code (see twoSubBlocks).
        for (int g = 0; g < 8; g++) {
            sum += twoSubBlocks(o, sc, qx, qxOff, g >>> 2, (g & 2) * 8, g & 1);
        }
        int offset = 0;
        for (int s = 0; s < SUBS; s++) {
            offset += sc[s] * bsums[bOff + s];
        }
        return sum - 32 * offset;
    }

    /**
     * Sub-blocks r and r+64 of half h, r = r0 + 32*second: both nibbles of one 16-byte load of
     * ql[64h + r..], the high bits from qh[32h + r0..] at shifts 2*second and 2*second + 4. A method
     * of its own that returns an int, so that C2 compiles it whole: larger bodies (four sub-blocks,
     * or this inlined into the row loop) exceed its inlining node budget and box the vectors.
     */
    private int twoSubBlocks(long o, int[] sc, short[] qx, int qxOff, int h, int r0, int second) {
        int r = r0 + 32 * second;
        ShortVector l = wideBytes(o + h * 64 + r);
        ShortVector hb = wideBytes(o + QH + h * 32 + r0);
        int e = h * 128 + r;
        ShortVector qa = l.and((short) 0x0F).or(hb.lanewise(VectorOperators.LSHL, 4 - 2 * second).and((short) 0x30));
        ShortVector qb = l.lanewise(VectorOperators.LSHR, 4).and((short) 0x0F)
                .or(hb.lanewise(VectorOperators.LSHR, 2 * second).and((short) 0x30));
        IntVector pa = qa.mul(wideActs(qx, qxOff + e)).reinterpretAsInts();
        IntVector pb = qb.mul(wideActs(qx, qxOff + e + 64)).reinterpretAsInts();
        IntVector sa = pa.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pa.lanewise(VectorOperators.ASHR, 16));
        IntVector sb = pb.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pb.lanewise(VectorOperators.ASHR, 16));
        return sa.mul(sc[e >>> 4]).add(sb.mul(sc[(e + 64) >>> 4])).reduceLanes(VectorOperators.ADD);
    }

    @Override
    float superScale(long o) {
        return half(o + D);
    }

    @Override
    int maxScaledQuant() {
        return 4096; // |q-32| <= 32, |sc| <= 128
    }

    @Override
    float dequantized(long o, int e, int[] sc, int[] m) {
        return half(o + D) * sc[e >>> 4] * quant(o, e);
    }
}
