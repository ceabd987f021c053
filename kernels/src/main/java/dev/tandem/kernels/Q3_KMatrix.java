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

    /**
     * Batches to 96 run {@link #scaledRows} (each super-block decoded once for all tokens) before the
     * token tile: kernels-ab one thread 2048 x 2048, scaledRows against the tile 1.33x at 64 tokens,
     * 1.26 at 80, 1.04 at 96, 0.88 at 128 (Q2_K's tile wins from 64: 0.89 there, so it keeps 2 * TT).
     */
    @Override
    int tokenRowsUpTo() {
        return ScaledQuants.ENABLED ? 96 : 0;
    }

    /**
     * out[outOff + t*rows + r] = rowDot(r, a, t * cols/256) for rows [start, end) and every token t,
     * bit for bit, each super-block decoded once for all tokens ({@link ScaledQuants}).
     */
    private void scaledRows(int start, int end, Q8_KActivations a, int batch, float[] out, int outOff) {
        int blocks = cols / QK;
        short[] w = new short[QK];
        float[] sums = new float[batch];
        for (int r = start; r < end; r++) {
            java.util.Arrays.fill(sums, 0f);
            long base = rowOffset(r);
            for (int blk = 0; blk < blocks; blk++) {
                long o = base + (long) blk * blockBytes;
                decodeScaled(o, w);
                float d = Float.float16ToFloat(data.get(Vec.SHORT_LE, o + D)); // in place, as blockValue below (see Q2_KMatrix#scaledRows)
                for (int t = 0; t < batch; t++) {
                    int ab = t * blocks + blk;
                    sums[t] += a.d[ab] * (d * ScaledQuants.dot(w, a.qs, ab * QK));
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
     * w[e] = sc[e/16] * q[e] for the super-block at o: the 16 scales from the block's last 32 bytes in
     * lanes (each lane shifts its own byte), hmask and each 32 bytes of qs widened once for their
     * 32-element chunks (chunk k: the 2-bit field 2(k%4) of qs[32(k/4) + i], bit k of hmask[i]).
     * Written out: with a loop over the chunks C2 computed each shift count and loaded each shuffle
     * at run time.
     */
    private void decodeScaled(long o, short[] w) {
        ShortVector tail = widen(o + TAIL);
        ShortVector low = tail.rearrange(LOW_BYTE).lanewise(VectorOperators.LSHR, LOW_SHIFT).and((short) 0x0F);
        ShortVector high = tail.rearrange(HIGH_BYTE).lanewise(VectorOperators.LSHR, HIGH_SHIFT).and((short) 3);
        ShortVector sc = high.lanewise(VectorOperators.LSHL, 4).or(low).sub((short) 32);
        // q = low + 4 * hbit - 4 = low - 4 * (1 - hbit): the complement's bit k moved to bit 2
        ShortVector clear = widen(o).not();
        ShortVector q0 = widen(o + QS), q1 = widen(o + QS + 32);
        q0.and((short) 3).sub(clear.lanewise(VectorOperators.LSHL, 2).and((short) 4))
                .mul(sc.rearrange(ScaledQuants.C0)).intoArray(w, 0);
        q0.lanewise(VectorOperators.LSHR, 2).and((short) 3).sub(clear.lanewise(VectorOperators.LSHL, 1).and((short) 4))
                .mul(sc.rearrange(ScaledQuants.C1)).intoArray(w, 32);
        q0.lanewise(VectorOperators.LSHR, 4).and((short) 3).sub(clear.and((short) 4))
                .mul(sc.rearrange(ScaledQuants.C2)).intoArray(w, 64);
        q0.lanewise(VectorOperators.LSHR, 6).and((short) 3).sub(clear.lanewise(VectorOperators.LSHR, 1).and((short) 4))
                .mul(sc.rearrange(ScaledQuants.C3)).intoArray(w, 96);
        q1.and((short) 3).sub(clear.lanewise(VectorOperators.LSHR, 2).and((short) 4))
                .mul(sc.rearrange(ScaledQuants.C4)).intoArray(w, 128);
        q1.lanewise(VectorOperators.LSHR, 2).and((short) 3).sub(clear.lanewise(VectorOperators.LSHR, 3).and((short) 4))
                .mul(sc.rearrange(ScaledQuants.C5)).intoArray(w, 160);
        q1.lanewise(VectorOperators.LSHR, 4).and((short) 3).sub(clear.lanewise(VectorOperators.LSHR, 4).and((short) 4))
                .mul(sc.rearrange(ScaledQuants.C6)).intoArray(w, 192);
        q1.lanewise(VectorOperators.LSHR, 6).and((short) 3).sub(clear.lanewise(VectorOperators.LSHR, 5).and((short) 4))
                .mul(sc.rearrange(ScaledQuants.C7)).intoArray(w, 224);
    }

    /** 32 bytes at o, sign-extended to shorts. */
    private ShortVector widen(long o) {
        return (ShortVector) ByteVector.fromMemorySegment(ScaledQuants.B, data, o, Vec.LE).convertShape(VectorOperators.B2S, ScaledQuants.S, 0);
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
