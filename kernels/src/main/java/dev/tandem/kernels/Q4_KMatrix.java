package dev.tandem.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_K weights: super-blocks of {f16 d; f16 dmin; uint8 scales[12]; uint8 qs[128]} (144 bytes).
 * Eight sub-blocks of 32 with six-bit scale and min each; element e = 64c + 32h + l is nibble h of
 * qs[32c + l]; value = d*sc[e/32]*q - dmin*m[e/32].
 */
public final class Q4_KMatrix extends KQuantMatrix {
    private static final int SCALES = 4;
    private static final int QS = 16;

    Q4_KMatrix(MemorySegment data, int rows, int cols) { super(data, rows, cols); }

    @Override public WeightFormat format() { return WeightFormat.Q4_K; }

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
     * {@link #rowDot}'s loop with the 16-bit product kernel: the same integers and float operations,
     * with the scales and mins unpacked four at a time from whole words instead of one by one into
     * arrays (those arrays escaped into the kernels and were allocated for every row). The block's
     * first 16 bytes (d, dmin, the packed scales) are read as two longs and {@link #blockValue}'s
     * float operations are written out here: with a segment read per field (each inlines a large
     * access check) C2 ran out of nodes and called blockValue out of line, a call per super-block
     * that spilled every vector register.
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

    /** {@link #minSum} over the 8 mins of the block at o (each covers two 16-value activation sums): the same integer. */
    int minSumWide(long o, int[] bsums, int from) {
        return packedMinSum(packedMins(packed(o)), bsums, from);
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
        return (u8(o + QS + (e >>> 6) * 32 + (e & 31)) >>> (4 * ((e >>> 5) & 1))) & 0x0F;
    }

    @Override
    void quants(long o, byte[] b, int[] q) {
        MemorySegment.copy(data, ValueLayout.JAVA_BYTE, o, b, 0, blockBytes);
        for (int e = 0; e < QK; e++) {
            q[e] = ((b[QS + (e >>> 6) * 32 + (e & 31)] & 0xFF) >>> (4 * ((e >>> 5) & 1))) & 0x0F;
        }
    }

    /** The nibbles of 16 bytes at a time (elements 64c + l and 64c + 32 + l), times the scales, as floats. */
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
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l += 16) {
                ShortVector v = wideBytes(o + QS + c * 32 + l);
                int e = 64 * c + l;
                shortsToFloats(v.and((short) 0x0F).mul((short) sc[e >>> 4]), w, wOff + e);
                shortsToFloats(v.lanewise(VectorOperators.LSHR, 4).and((short) 0x0F).mul((short) sc[(e + 32) >>> 4]), w, wOff + e + 32);
            }
        }
    }

    @Override
    int scaledSum(long o, int[] sc, byte[] qx, int qxOff) {
        IntVector acc = IntVector.zero(Vec.I);
        // Each load of qs bytes serves two sub-blocks: its low nibbles (elements 64c + l) and its
        // high ones (64c + 32 + l).
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l += Vec.B.length()) {
                ByteVector v = bytes(o + QS + c * 32 + l);
                int e = c * 64 + l;
                acc = accumulate(acc, v.and((byte) 0x0F), ByteVector.fromArray(Vec.B, qx, qxOff + e), sc[e >>> 4]);
                acc = accumulate(acc, bits(v, 4, 0x0F), ByteVector.fromArray(Vec.B, qx, qxOff + e + 32), sc[(e + 32) >>> 4]);
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** {@link #scaledSum} in 16-bit products for the block at o. */
    int scaledSumWide(long o, short[] qx, int qxOff) {
        return scaledSumWide(o, packedScales(head(o), packed(o)), qx, qxOff);
    }

    /**
     * {@link #scaledSum} in 16-bit products, scale j in byte j of sc ({@link #packedScales}): a
     * 32-value sub-block has one scale, so its two halves' products (each at most 15 * 127) are added
     * in shorts before pairing; two 16-byte loads, widened without sign, give the low-nibble
     * sub-block (and 15) and the high-nibble one (a shift alone).
     */
    private int scaledSumWide(long o, long sc, short[] qx, int qxOff) {
        ShortVector nibble = ShortVector.broadcast(SHORTS, (short) 0x0F);
        IntVector acc = IntVector.zero(PAIRS);
        for (int c = 0; c < 4; c++) {
            ShortVector b0 = wideUnsignedBytes(o + QS + c * 32), b1 = wideUnsignedBytes(o + QS + c * 32 + 16);
            int e = qxOff + c * 64;
            ShortVector lo = b0.and(nibble).mul(wideActs(qx, e)).add(b1.and(nibble).mul(wideActs(qx, e + 16)));
            ShortVector hi = b0.lanewise(VectorOperators.LSHR, 4).mul(wideActs(qx, e + 32))
                    .add(b1.lanewise(VectorOperators.LSHR, 4).mul(wideActs(qx, e + 48)));
            acc = acc.add(scaledPairs(lo, (int) (sc >>> (16 * c)) & 0xFF)).add(scaledPairs(hi, (int) (sc >>> (16 * c + 8)) & 0xFF));
        }
        return acc.reduceLanes(VectorOperators.ADD);
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
        return 945; // q <= 15, sc <= 63
    }

    @Override
    float dequantized(long o, int e, int[] sc, int[] m) {
        return half(o) * sc[e >>> 4] * quant(o, e) - half(o + 2) * m[e >>> 4];
    }
}
