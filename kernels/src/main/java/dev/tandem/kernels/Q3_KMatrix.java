package dev.tandem.kernels;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorShuffle;
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
        if (ScaledQuants.ENABLED && batch == 1) {
            return (start, end) -> {
                for (int r = start; r < end; r++) {
                    out[outOff + r] = decodedDot(r, a);
                }
            };
        }
        if (ScaledQuants.ENABLED) {
            return (start, end) -> scaledRows(start, end, a, batch, out, outOff);
        }
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

    /** {@link ScaledQuants#UP_TO}: larger batches take the token tile. */
    @Override
    int tokenRowsUpTo() {
        return ScaledQuants.ENABLED ? ScaledQuants.UP_TO : 0;
    }

    @Override
    boolean vectorDecode() {
        return ScaledQuants.ENABLED;
    }

    /**
     * out[outOff + t*rows + r] = rowDot(r, a, t * cols/256) for rows [start, end) and every token t,
     * bit for bit, each super-block decoded once into 8 vectors of sc * q held for all tokens
     * ({@link ScaledQuants}). Written out in one method: through a decode into a scratch array and a
     * dot method, which C2 compiled as calls, Q2_K ran 0.63-0.72x as fast at 4 to 32 tokens (Q3_K
     * 0.88 at 4; kernels-ab one thread 2048 x 2048).
     */
    private void scaledRows(int start, int end, Q8_KActivations a, int batch, float[] out, int outOff) {
        int blocks = cols / QK;
        short[] x = a.qs;
        float[] sums = new float[batch];
        for (int r = start; r < end; r++) {
            java.util.Arrays.fill(sums, 0f);
            long base = rowOffset(r);
            for (int blk = 0; blk < blocks; blk++) {
                long o = base + (long) blk * blockBytes;
                ShortVector sc = subBlockScales(o);
                // q = low + 4 * hbit - 4 = low - 4 * (1 - hbit): the complement's bit k moved to bit 2
                ShortVector clear = wideBytes32(o).not();
                ShortVector q0 = wideBytes32(o + QS), q1 = wideBytes32(o + QS + 32);
                ShortVector w0 = q0.and((short) 3).sub(clear.lanewise(VectorOperators.LSHL, 2).and((short) 4)).mul(sc.rearrange(ScaledQuants.C0));
                ShortVector w1 = q0.lanewise(VectorOperators.LSHR, 2).and((short) 3).sub(clear.lanewise(VectorOperators.LSHL, 1).and((short) 4))
                        .mul(sc.rearrange(ScaledQuants.C1));
                ShortVector w2 = q0.lanewise(VectorOperators.LSHR, 4).and((short) 3).sub(clear.and((short) 4)).mul(sc.rearrange(ScaledQuants.C2));
                ShortVector w3 = q0.lanewise(VectorOperators.LSHR, 6).and((short) 3).sub(clear.lanewise(VectorOperators.LSHR, 1).and((short) 4))
                        .mul(sc.rearrange(ScaledQuants.C3));
                ShortVector w4 = q1.and((short) 3).sub(clear.lanewise(VectorOperators.LSHR, 2).and((short) 4)).mul(sc.rearrange(ScaledQuants.C4));
                ShortVector w5 = q1.lanewise(VectorOperators.LSHR, 2).and((short) 3).sub(clear.lanewise(VectorOperators.LSHR, 3).and((short) 4))
                        .mul(sc.rearrange(ScaledQuants.C5));
                ShortVector w6 = q1.lanewise(VectorOperators.LSHR, 4).and((short) 3).sub(clear.lanewise(VectorOperators.LSHR, 4).and((short) 4))
                        .mul(sc.rearrange(ScaledQuants.C6));
                ShortVector w7 = q1.lanewise(VectorOperators.LSHR, 6).and((short) 3).sub(clear.lanewise(VectorOperators.LSHR, 5).and((short) 4))
                        .mul(sc.rearrange(ScaledQuants.C7));
                float d = Float.float16ToFloat(data.get(Vec.SHORT_LE, o + D)); // in place, as blockValue below (see Q2_KMatrix#scaledRows)
                for (int t = 0; t < batch; t++) {
                    int ab = t * blocks + blk, e = ab * QK;
                    IntVector p = w0.mul(ShortVector.fromArray(ScaledQuants.S, x, e)).reinterpretAsInts();
                    IntVector acc = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                    p = w1.mul(ShortVector.fromArray(ScaledQuants.S, x, e + 32)).reinterpretAsInts();
                    acc = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).add(acc);
                    p = w2.mul(ShortVector.fromArray(ScaledQuants.S, x, e + 64)).reinterpretAsInts();
                    acc = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).add(acc);
                    p = w3.mul(ShortVector.fromArray(ScaledQuants.S, x, e + 96)).reinterpretAsInts();
                    acc = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).add(acc);
                    p = w4.mul(ShortVector.fromArray(ScaledQuants.S, x, e + 128)).reinterpretAsInts();
                    acc = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).add(acc);
                    p = w5.mul(ShortVector.fromArray(ScaledQuants.S, x, e + 160)).reinterpretAsInts();
                    acc = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).add(acc);
                    p = w6.mul(ShortVector.fromArray(ScaledQuants.S, x, e + 192)).reinterpretAsInts();
                    acc = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).add(acc);
                    p = w7.mul(ShortVector.fromArray(ScaledQuants.S, x, e + 224)).reinterpretAsInts();
                    acc = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).add(acc);
                    sums[t] += a.d[ab] * (d * acc.reduceLanes(VectorOperators.ADD));
                }
            }
            for (int t = 0; t < batch; t++) {
                out[outOff + t * rows + r] = sums[t];
            }
        }
    }

    /** The block's last 32 bytes widened: the scale bytes are lanes 18-29. */
    private static final int TAIL = D + 2 - 32;
    /** Lane s (s &lt; 16): scales[s % 8], to be shifted right by 4(s/8) for its low nibble. */
    private static final VectorShuffle<Short> LOW_BYTE;
    private static final ShortVector LOW_SHIFT;
    /** Lane s: scales[8 + s % 4], to be shifted right by 2(s/4) for its two high bits. */
    private static final VectorShuffle<Short> HIGH_BYTE;
    private static final ShortVector HIGH_SHIFT;

    static {
        int[] lowByte = new int[SUBS], highByte = new int[SUBS];
        short[] lowShift = new short[ScaledQuants.S.length()], highShift = new short[ScaledQuants.S.length()];
        for (int s = 0; s < SUBS; s++) {
            lowByte[s] = SCALES - TAIL + (s & 7);
            highByte[s] = SCALES - TAIL + 8 + (s & 3);
            lowShift[s] = (short) (4 * (s >>> 3));
            highShift[s] = (short) (2 * (s >>> 2));
        }
        LOW_BYTE = ScaledQuants.lanes(lowByte);
        HIGH_BYTE = ScaledQuants.lanes(highByte);
        LOW_SHIFT = ShortVector.fromArray(ScaledQuants.S, lowShift, 0);
        HIGH_SHIFT = ShortVector.fromArray(ScaledQuants.S, highShift, 0);
    }

    /**
     * rowDot(r, a, 0, true) bit for bit, for batch 1: {@link #scaledRows}'s chunks multiplied by the
     * activations as they are decoded, not held for other tokens: 1.74x scaledRows' first form (a
     * decode into a scratch array, then a dot method, which C2 compiled as calls) and 1.38x
     * scaledRows itself at one token (Q2_K; kernels-ab one thread 2048 x 2048).
     */
    private float decodedDot(int r, Q8_KActivations a) {
        long base = rowOffset(r);
        short[] x = a.qs;
        float sum = 0f;
        for (int blk = 0; blk < cols / QK; blk++) {
            long o = base + (long) blk * blockBytes;
            int e = blk * QK;
            ShortVector sc = subBlockScales(o);
            ShortVector clear = wideBytes32(o).not();
            ShortVector q0 = wideBytes32(o + QS), q1 = wideBytes32(o + QS + 32);
            IntVector p = q0.and((short) 3).sub(clear.lanewise(VectorOperators.LSHL, 2).and((short) 4))
                    .mul(sc.rearrange(ScaledQuants.C0)).mul(ShortVector.fromArray(ScaledQuants.S, x, e)).reinterpretAsInts();
            IntVector acc = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            p = q0.lanewise(VectorOperators.LSHR, 2).and((short) 3).sub(clear.lanewise(VectorOperators.LSHL, 1).and((short) 4))
                    .mul(sc.rearrange(ScaledQuants.C1)).mul(ShortVector.fromArray(ScaledQuants.S, x, e + 32)).reinterpretAsInts();
            acc = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).add(acc);
            p = q0.lanewise(VectorOperators.LSHR, 4).and((short) 3).sub(clear.and((short) 4))
                    .mul(sc.rearrange(ScaledQuants.C2)).mul(ShortVector.fromArray(ScaledQuants.S, x, e + 64)).reinterpretAsInts();
            acc = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).add(acc);
            p = q0.lanewise(VectorOperators.LSHR, 6).and((short) 3).sub(clear.lanewise(VectorOperators.LSHR, 1).and((short) 4))
                    .mul(sc.rearrange(ScaledQuants.C3)).mul(ShortVector.fromArray(ScaledQuants.S, x, e + 96)).reinterpretAsInts();
            acc = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).add(acc);
            p = q1.and((short) 3).sub(clear.lanewise(VectorOperators.LSHR, 2).and((short) 4))
                    .mul(sc.rearrange(ScaledQuants.C4)).mul(ShortVector.fromArray(ScaledQuants.S, x, e + 128)).reinterpretAsInts();
            acc = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).add(acc);
            p = q1.lanewise(VectorOperators.LSHR, 2).and((short) 3).sub(clear.lanewise(VectorOperators.LSHR, 3).and((short) 4))
                    .mul(sc.rearrange(ScaledQuants.C5)).mul(ShortVector.fromArray(ScaledQuants.S, x, e + 160)).reinterpretAsInts();
            acc = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).add(acc);
            p = q1.lanewise(VectorOperators.LSHR, 4).and((short) 3).sub(clear.lanewise(VectorOperators.LSHR, 4).and((short) 4))
                    .mul(sc.rearrange(ScaledQuants.C6)).mul(ShortVector.fromArray(ScaledQuants.S, x, e + 192)).reinterpretAsInts();
            acc = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).add(acc);
            p = q1.lanewise(VectorOperators.LSHR, 6).and((short) 3).sub(clear.lanewise(VectorOperators.LSHR, 5).and((short) 4))
                    .mul(sc.rearrange(ScaledQuants.C7)).mul(ShortVector.fromArray(ScaledQuants.S, x, e + 224)).reinterpretAsInts();
            acc = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).add(acc);
            float d = Float.float16ToFloat(data.get(Vec.SHORT_LE, o + D));
            sum += a.d[blk] * (d * acc.reduceLanes(VectorOperators.ADD));
        }
        return sum;
    }

    /** The token tile's panel decode (KQuantGemm, prefill): {@link #scaledRows}' chunks as floats (see Q2_KMatrix#scaledQuants). */
    @Override
    void scaledQuants(long o, int[] sc, byte[] block, int[] q, float[] w, int wOff) {
        if (!ScaledQuants.ENABLED) {
            super.scaledQuants(o, sc, block, q, w, wOff);
            return;
        }
        ShortVector s = subBlockScales(o);
        ShortVector clear = wideBytes32(o).not();
        ShortVector q0 = wideBytes32(o + QS), q1 = wideBytes32(o + QS + 32);
        ScaledQuants.floats(q0.and((short) 3).sub(clear.lanewise(VectorOperators.LSHL, 2).and((short) 4)).mul(s.rearrange(ScaledQuants.C0)), w, wOff);
        ScaledQuants.floats(q0.lanewise(VectorOperators.LSHR, 2).and((short) 3).sub(clear.lanewise(VectorOperators.LSHL, 1).and((short) 4))
                .mul(s.rearrange(ScaledQuants.C1)), w, wOff + 32);
        ScaledQuants.floats(q0.lanewise(VectorOperators.LSHR, 4).and((short) 3).sub(clear.and((short) 4)).mul(s.rearrange(ScaledQuants.C2)), w, wOff + 64);
        ScaledQuants.floats(q0.lanewise(VectorOperators.LSHR, 6).and((short) 3).sub(clear.lanewise(VectorOperators.LSHR, 1).and((short) 4))
                .mul(s.rearrange(ScaledQuants.C3)), w, wOff + 96);
        ScaledQuants.floats(q1.and((short) 3).sub(clear.lanewise(VectorOperators.LSHR, 2).and((short) 4)).mul(s.rearrange(ScaledQuants.C4)), w, wOff + 128);
        ScaledQuants.floats(q1.lanewise(VectorOperators.LSHR, 2).and((short) 3).sub(clear.lanewise(VectorOperators.LSHR, 3).and((short) 4))
                .mul(s.rearrange(ScaledQuants.C5)), w, wOff + 160);
        ScaledQuants.floats(q1.lanewise(VectorOperators.LSHR, 4).and((short) 3).sub(clear.lanewise(VectorOperators.LSHR, 4).and((short) 4))
                .mul(s.rearrange(ScaledQuants.C6)), w, wOff + 192);
        ScaledQuants.floats(q1.lanewise(VectorOperators.LSHR, 6).and((short) 3).sub(clear.lanewise(VectorOperators.LSHR, 5).and((short) 4))
                .mul(s.rearrange(ScaledQuants.C7)), w, wOff + 224);
    }

    /**
     * The 16 six-bit sub-block scales (minus 32) of the super-block at o in lanes 0-15, from its last 32
     * bytes widened, each lane shifting its own byte.
     */
    private ShortVector subBlockScales(long o) {
        ShortVector tail = wideBytes32(o + TAIL);
        ShortVector low = tail.rearrange(LOW_BYTE).lanewise(VectorOperators.LSHR, LOW_SHIFT).and((short) 0x0F);
        ShortVector high = tail.rearrange(HIGH_BYTE).lanewise(VectorOperators.LSHR, HIGH_SHIFT).and((short) 3);
        return high.lanewise(VectorOperators.LSHL, 4).or(low).sub((short) 32);
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
    void scales(byte[] b, int at, int[] sc, int[] m) {
        for (int s = 0; s < SUBS; s++) {
            int low = ((b[at + SCALES + (s & 7)] & 0xFF) >>> (4 * (s >>> 3))) & 0x0F;
            int high = ((b[at + SCALES + 8 + (s & 3)] & 0xFF) >>> (2 * (s >>> 2))) & 3;
            sc[s] = (low | high << 4) - 32;
        }
    }

    @Override
    void quants(byte[] b, int at, int[] q) {
        for (int h = 0; h < 2; h++) { // qs byte l of half h: elements 128h + 32k + l in bits 2k, 2k + 1; their high bit in hmask byte l, bit 4h + k
            for (int l = 0; l < 32; l++) {
                int v = b[at + QS + 32 * h + l] & 0xFF, hm = (b[at + l] & 0xFF) >>> (4 * h);
                for (int k = 0; k < 4; k++) {
                    q[128 * h + 32 * k + l] = (v >>> (2 * k) & 3) + 4 * (hm >>> k & 1) - 4;
                }
            }
        }
    }

    /**
     * As Q2_K's (bits 2j, 2j + 1 of qs byte l of half h are element 128h + 32j + l), each quant's high
     * bit from hmask byte l, bit 4h + j; the -4 comes out per sub-block through the activations'
     * 16-value sums, as Q6_K's -32.
     */
    @Override
    int twinDot(byte[] b, int at, int[] sc, int[] qx, int x, int[] bsums, int bs) {
        int isum = 0;
        for (int h = 0; h < 2; h++) {
            for (int k = 0; k < 2; k++) {
                int p0 = 0, p1 = 0, p2 = 0, p3 = 0;
                int w = at + QS + 32 * h + 16 * k, m = at + 16 * k, e = x + 128 * h + 16 * k;
                for (int l = 0; l < 16; l++) {
                    int v = b[w + l] & 0xFF, hm = (b[m + l] & 0xFF) >>> (4 * h);
                    p0 += ((v & 3) | (hm & 1) << 2) * qx[e + l];
                    p1 += ((v >>> 2 & 3) | (hm & 2) << 1) * qx[e + 32 + l];
                    p2 += ((v >>> 4 & 3) | (hm & 4)) * qx[e + 64 + l];
                    p3 += ((v >>> 6) | (hm & 8) >>> 1) * qx[e + 96 + l];
                }
                int s = 8 * h + k;
                isum += sc[s] * (p0 - 4 * bsums[bs + s]) + sc[s + 2] * (p1 - 4 * bsums[bs + s + 2])
                        + sc[s + 4] * (p2 - 4 * bsums[bs + s + 4]) + sc[s + 6] * (p3 - 4 * bsums[bs + s + 6]);
            }
        }
        return isum;
    }

    @Override
    float superScale(byte[] b, int at) {
        return IntDot.half(b, at + D);
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
