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
            sum += blockValue(o, a.d[ab], isum, 0);
        }
        return sum;
    }

    /**
     * {@link #rowDot}'s loop with the 16-bit product kernel, which reads the scales itself: no
     * scale arrays per row (they escaped into the kernel and were allocated for every row).
     */
    private float rowDotWide(int row, Q8_KActivations a, int blk0) {
        long base = rowOffset(row);
        float sum = 0f;
        for (int blk = 0; blk < cols / QK; blk++) {
            long o = base + (long) blk * blockBytes;
            int ab = blk0 + blk;
            // blockValue's float operations for a format without mins, written out (C2 may leave a call out of line).
            sum += a.d[ab] * (half(o + D) * scaledSumWide(o, a.qs, ab * QK, a.bsums, ab * SUBS));
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

    /** {@link #scaledSumWide}'s unpacking, once per super-block, times the scales, as floats. */
    @Override
    boolean vectorDecode() {
        return IntDot.WIDE;
    }

    @Override
    void scaledQuants(long o, int[] sc, byte[] block, int[] q, float[] w, int wOff) {
        if (!IntDot.WIDE) {
            super.scaledQuants(o, sc, block, q, w, wOff);
            return;
        }
        for (int g = 0; g < 8; g++) {
            int h = g >>> 2, r0 = (g & 2) * 8, second = g & 1;
            int e = h * 128 + r0 + 32 * second;
            ShortVector l = wideBytes(o + h * 64 + r0 + 32 * second);
            ShortVector hb = wideBytes(o + QH + h * 32 + r0);
            ShortVector ha = second == 0 ? hb.lanewise(VectorOperators.LSHL, 4) : hb.lanewise(VectorOperators.LSHL, 2);
            ShortVector hbb = second == 0 ? hb : hb.lanewise(VectorOperators.LSHR, 2);
            ShortVector qa = l.and((short) 0x0F).or(ha.and((short) 0x30)).sub((short) 32);
            ShortVector qb = l.lanewise(VectorOperators.LSHR, 4).and((short) 0x0F).or(hbb.and((short) 0x30)).sub((short) 32);
            shortsToFloats(qa.mul((short) sc[e >>> 4]), w, wOff + e);
            shortsToFloats(qb.mul((short) sc[(e + 64) >>> 4]), w, wOff + e + 64);
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
     * |qx| <= 127 fits a short) and the 32 is subtracted once per super-block through the activations'
     * block sums (16 scales times 16 sums in two int vectors). Each pass of the loop takes two 16-byte
     * loads (ql and qh) to two sub-blocks: r and r+64 of half h, r = r0 + 32*second, both nibbles of
     * ql[64h + r..] and the high bits of qh[32h + r0..] at shifts 2*second and 2*second + 4. All
     * sub-blocks add into one int vector, reduced once: the sum is exact, so the order is free.
     * The vector code sits once in a loop body (not unrolled in the source): larger straight-line
     * bodies exceed C2's inlining node budget and box the vectors. The scales are read from the
     * super-block (signed bytes at SCALES).
     */
    int scaledSumWide(long o, short[] qx, int qxOff, int[] bsums, int bOff) {
        ShortVector nibble = ShortVector.broadcast(SHORTS, (short) 0x0F), top = ShortVector.broadcast(SHORTS, (short) 0x30);
        IntVector acc = IntVector.zero(PAIRS);
        for (int g = 0; g < 8; g++) {
            int h = g >>> 2, r0 = (g & 2) * 8, second = g & 1;
            int r = r0 + 32 * second;
            int e = h * 128 + r;
            ShortVector l = wideUnsignedBytes(o + h * 64 + r);
            ShortVector hb = wideBytes(o + QH + h * 32 + r0);
            // Constant shift counts (a variable count costs a move to a vector register per shift).
            ShortVector ha = second == 0 ? hb.lanewise(VectorOperators.LSHL, 4) : hb.lanewise(VectorOperators.LSHL, 2);
            ShortVector hbb = second == 0 ? hb : hb.lanewise(VectorOperators.LSHR, 2);
            ShortVector qa = l.and(nibble).or(ha.and(top));
            ShortVector qb = l.lanewise(VectorOperators.LSHR, 4).or(hbb.and(top));
            acc = acc.add(scaledPairs(qa.mul(wideActs(qx, qxOff + e)), scale(o, e >>> 4)))
                    .add(scaledPairs(qb.mul(wideActs(qx, qxOff + e + 64)), scale(o, (e + 64) >>> 4)));
        }
        return acc.sub(offset(o, bsums, bOff)).reduceLanes(VectorOperators.ADD);
    }

    /**
     * 32 * sc[s] * bsums[s] over the 16 sub-blocks, in 8 int lanes: what q+32 adds to the sum. Each
     * 8 scales are one 64-bit load widened to ints (a 128-bit load's upper half cost a dozen
     * shuffles), and a method of its own keeps {@link #scaledSumWide} small enough for C2 to inline
     * into the row loop (a call per super-block otherwise).
     */
    IntVector offset(long o, int[] bsums, int bOff) {
        IntVector lo = (IntVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, data, o + SCALES, Vec.LE)
                .convertShape(VectorOperators.B2I, PAIRS, 0);
        IntVector hi = (IntVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, data, o + SCALES + 8, Vec.LE)
                .convertShape(VectorOperators.B2I, PAIRS, 0);
        return lo.mul(IntVector.fromArray(PAIRS, bsums, bOff)).add(hi.mul(IntVector.fromArray(PAIRS, bsums, bOff + 8)))
                .lanewise(VectorOperators.LSHL, 5);
    }

    /** Sub-block s's scale, a signed byte. */
    private int scale(long o, int s) {
        return data.get(ValueLayout.JAVA_BYTE, o + SCALES + s);
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
