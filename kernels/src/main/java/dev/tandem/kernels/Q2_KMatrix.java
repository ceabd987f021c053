package dev.tandem.kernels;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
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
     * 0.88 at 4; kernels-ab one thread 2048 x 2048). The per-token products below repeat Q3_KMatrix's:
     * shared as one force-inlined helper taking the 8 vectors, both ran 0.18-0.27x (boxed vectors).
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
                ShortVector head = wideBytes32(o);
                ShortVector sc = head.and((short) 0x0F);
                IntVector mins = ((IntVector) head.lanewise(VectorOperators.LSHR, 4).and((short) 0x0F)
                        .convertShape(VectorOperators.S2I, ScaledQuants.I, 0));
                ShortVector q0 = wideBytes32(o + QS), q1 = wideBytes32(o + QS + 32);
                ShortVector w0 = q0.and((short) 3).mul(sc.rearrange(ScaledQuants.C0));
                ShortVector w1 = q0.lanewise(VectorOperators.LSHR, 2).and((short) 3).mul(sc.rearrange(ScaledQuants.C1));
                ShortVector w2 = q0.lanewise(VectorOperators.LSHR, 4).and((short) 3).mul(sc.rearrange(ScaledQuants.C2));
                ShortVector w3 = q0.lanewise(VectorOperators.LSHR, 6).and((short) 3).mul(sc.rearrange(ScaledQuants.C3));
                ShortVector w4 = q1.and((short) 3).mul(sc.rearrange(ScaledQuants.C4));
                ShortVector w5 = q1.lanewise(VectorOperators.LSHR, 2).and((short) 3).mul(sc.rearrange(ScaledQuants.C5));
                ShortVector w6 = q1.lanewise(VectorOperators.LSHR, 4).and((short) 3).mul(sc.rearrange(ScaledQuants.C6));
                ShortVector w7 = q1.lanewise(VectorOperators.LSHR, 6).and((short) 3).mul(sc.rearrange(ScaledQuants.C7));
                // Read and computed in place (blockValue's operations): C2 stopped inlining these small
                // calls here (perf: blockValue, superScale and superMin 17 % of a Q2_K decode).
                float d = Float.float16ToFloat(data.get(Vec.SHORT_LE, o + D)), dMin = Float.float16ToFloat(data.get(Vec.SHORT_LE, o + D + 2));
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
                    int minSum = mins.mul(IntVector.fromArray(ScaledQuants.I, a.bsums, ab * SUBS)).reduceLanes(VectorOperators.ADD);
                    sums[t] += a.d[ab] * (d * acc.reduceLanes(VectorOperators.ADD) - dMin * minSum);
                }
            }
            for (int t = 0; t < batch; t++) {
                out[outOff + t * rows + r] = sums[t];
            }
        }
    }

    /**
     * rowDot(r, a, 0, true) bit for bit, for batch 1: {@link #scaledRows}'s chunks multiplied by the
     * activations as they are decoded (see Q3_KMatrix#decodedDot for why).
     */
    private float decodedDot(int r, Q8_KActivations a) {
        long base = rowOffset(r);
        short[] x = a.qs;
        float sum = 0f;
        for (int blk = 0; blk < cols / QK; blk++) {
            long o = base + (long) blk * blockBytes;
            int e = blk * QK;
            ShortVector head = wideBytes32(o);
            ShortVector sc = head.and((short) 0x0F);
            IntVector mins = ((IntVector) head.lanewise(VectorOperators.LSHR, 4).and((short) 0x0F)
                    .convertShape(VectorOperators.S2I, ScaledQuants.I, 0));
            int minSum = mins.mul(IntVector.fromArray(ScaledQuants.I, a.bsums, blk * SUBS)).reduceLanes(VectorOperators.ADD);
            ShortVector q0 = wideBytes32(o + QS), q1 = wideBytes32(o + QS + 32);
            // |sc * q * x| <= 45 * 127: four chunks' products add up in a short lane (<= 22,860), and each
            // int lane's two such sums are sign-extended and added.
            IntVector p = q0.and((short) 3).mul(sc.rearrange(ScaledQuants.C0)).mul(ShortVector.fromArray(ScaledQuants.S, x, e))
                    .add(q0.lanewise(VectorOperators.LSHR, 2).and((short) 3).mul(sc.rearrange(ScaledQuants.C1))
                            .mul(ShortVector.fromArray(ScaledQuants.S, x, e + 32)))
                    .add(q0.lanewise(VectorOperators.LSHR, 4).and((short) 3).mul(sc.rearrange(ScaledQuants.C2))
                            .mul(ShortVector.fromArray(ScaledQuants.S, x, e + 64)))
                    .add(q0.lanewise(VectorOperators.LSHR, 6).and((short) 3).mul(sc.rearrange(ScaledQuants.C3))
                            .mul(ShortVector.fromArray(ScaledQuants.S, x, e + 96))).reinterpretAsInts();
            IntVector acc = p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(p.lanewise(VectorOperators.ASHR, 16));
            p = q1.and((short) 3).mul(sc.rearrange(ScaledQuants.C4)).mul(ShortVector.fromArray(ScaledQuants.S, x, e + 128))
                    .add(q1.lanewise(VectorOperators.LSHR, 2).and((short) 3).mul(sc.rearrange(ScaledQuants.C5))
                            .mul(ShortVector.fromArray(ScaledQuants.S, x, e + 160)))
                    .add(q1.lanewise(VectorOperators.LSHR, 4).and((short) 3).mul(sc.rearrange(ScaledQuants.C6))
                            .mul(ShortVector.fromArray(ScaledQuants.S, x, e + 192)))
                    .add(q1.lanewise(VectorOperators.LSHR, 6).and((short) 3).mul(sc.rearrange(ScaledQuants.C7))
                            .mul(ShortVector.fromArray(ScaledQuants.S, x, e + 224))).reinterpretAsInts();
            acc = p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(p.lanewise(VectorOperators.ASHR, 16)).add(acc);
            float d = Float.float16ToFloat(data.get(Vec.SHORT_LE, o + D)), dMin = Float.float16ToFloat(data.get(Vec.SHORT_LE, o + D + 2));
            sum += a.d[blk] * (d * acc.reduceLanes(VectorOperators.ADD) - dMin * minSum);
        }
        return sum;
    }

    /**
     * The token tile's panel decode (KQuantGemm, prefill): {@link #scaledRows}' chunks as floats. The
     * scalar form, a quant at a time, was 26 % of a TinyLlama Q2_K pp256 (perf).
     */
    @Override
    void scaledQuants(long o, int[] sc, byte[] block, int[] q, float[] w, int wOff) {
        if (!ScaledQuants.ENABLED) {
            super.scaledQuants(o, sc, block, q, w, wOff);
            return;
        }
        ShortVector s = wideBytes32(o).and((short) 0x0F);
        ShortVector q0 = wideBytes32(o + QS), q1 = wideBytes32(o + QS + 32);
        ScaledQuants.floats(q0.and((short) 3).mul(s.rearrange(ScaledQuants.C0)), w, wOff);
        ScaledQuants.floats(q0.lanewise(VectorOperators.LSHR, 2).and((short) 3).mul(s.rearrange(ScaledQuants.C1)), w, wOff + 32);
        ScaledQuants.floats(q0.lanewise(VectorOperators.LSHR, 4).and((short) 3).mul(s.rearrange(ScaledQuants.C2)), w, wOff + 64);
        ScaledQuants.floats(q0.lanewise(VectorOperators.LSHR, 6).and((short) 3).mul(s.rearrange(ScaledQuants.C3)), w, wOff + 96);
        ScaledQuants.floats(q1.and((short) 3).mul(s.rearrange(ScaledQuants.C4)), w, wOff + 128);
        ScaledQuants.floats(q1.lanewise(VectorOperators.LSHR, 2).and((short) 3).mul(s.rearrange(ScaledQuants.C5)), w, wOff + 160);
        ScaledQuants.floats(q1.lanewise(VectorOperators.LSHR, 4).and((short) 3).mul(s.rearrange(ScaledQuants.C6)), w, wOff + 192);
        ScaledQuants.floats(q1.lanewise(VectorOperators.LSHR, 6).and((short) 3).mul(s.rearrange(ScaledQuants.C7)), w, wOff + 224);
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
    void scales(byte[] b, int at, int[] sc, int[] m) {
        for (int s = 0; s < SUBS; s++) {
            int v = b[at + s] & 0xFF;
            sc[s] = v & 0x0F;
            m[s] = v >>> 4;
        }
    }

    @Override
    void quants(byte[] b, int at, int[] q) {
        for (int h = 0; h < 2; h++) { // qs byte l of half h: elements 128h + 32k + l in bits 2k, 2k + 1
            for (int l = 0; l < 32; l++) {
                int v = b[at + QS + 32 * h + l] & 0xFF;
                q[128 * h + l] = v & 3;
                q[128 * h + 32 + l] = v >>> 2 & 3;
                q[128 * h + 64 + l] = v >>> 4 & 3;
                q[128 * h + 96 + l] = v >>> 6;
            }
        }
    }

    /** Half h, bytes l in [16k, 16k + 16): bits 2j, 2j + 1 are element 128h + 32j + l, in sub-block 8h + 2j + k. */
    @Override
    int twinDot(byte[] b, int at, int[] sc, int[] qx, int x, int[] bsums, int bs) {
        int isum = 0;
        for (int h = 0; h < 2; h++) {
            for (int k = 0; k < 2; k++) {
                int p0 = 0, p1 = 0, p2 = 0, p3 = 0;
                int w = at + QS + 32 * h + 16 * k, e = x + 128 * h + 16 * k;
                for (int l = 0; l < 16; l++) {
                    int v = b[w + l] & 0xFF;
                    p0 += (v & 3) * qx[e + l];
                    p1 += (v >>> 2 & 3) * qx[e + 32 + l];
                    p2 += (v >>> 4 & 3) * qx[e + 64 + l];
                    p3 += (v >>> 6) * qx[e + 96 + l];
                }
                int s = 8 * h + k;
                isum += sc[s] * p0 + sc[s + 2] * p1 + sc[s + 4] * p2 + sc[s + 6] * p3;
            }
        }
        return isum;
    }

    @Override
    float superScale(byte[] b, int at) {
        return IntDot.half(b, at + D);
    }

    @Override
    float superMin(byte[] b, int at) {
        return IntDot.half(b, at + D + 2);
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
