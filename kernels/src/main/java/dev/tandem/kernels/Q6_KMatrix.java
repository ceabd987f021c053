package dev.tandem.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

/**
 * Q6_K weights: super-blocks of {uint8 ql[128]; uint8 qh[64]; int8 scales[16]; f16 d} (210 bytes).
 * In each half h of 128 elements, element r has its low nibble in nibble r/64 of ql[64h + r%64] and
 * its two high bits at bits 2(r/32) of qh[32h + r%32]; value = d*scales[e/16]*(q-32).
 */
public final class Q6_KMatrix extends KQuantMatrix {
    private static final int QH = 128;
    private static final int SCALES = 192;
    private static final int D = 208;
    /** A row-block of the paired copy ({@link #pairedCopy}): 256 weights as bytes, then the 16 scales. */
    private static final int PAIRED = QK + SUBS;
    /** Weights per sub-block (one scale each). */
    private static final int SUB = QK / SUBS;

    /** The batch-1 kernel's paired rows ({@link #pairedCopy}), built on first use. */
    private final PairedRows.Lazy paired = new PairedRows.Lazy();

    Q6_KMatrix(MemorySegment data, int rows, int cols) { super(data, rows, cols); }

    @Override public WeightFormat format() { return WeightFormat.Q6_K; }

    @Override
    Parallel.RangeBody rowsTask(Q8_KActivations a, int batch, float[] out, int outOff) {
        boolean vector = Vec.ENABLED;
        int perToken = cols / QK;
        PairedRows tokenRows = vector && TokenRows.serves(batch, TOKEN_ROWS_UP_TO) ? pairedCopy() : null;
        if (tokenRows != null) { // each token in turn on a pair's rows while they are in L1 (TokenRows)
            short[] lanes = a.q6KLanes();
            return (start, end) -> {
                float[] sums = new float[(batch + 1) / 2 * PairLanes.F.length()];
                PairedRows.forRows(start, end, // each row-block rebuilt once for all the tokens
                        (r, n) -> Q6_KSixBits.dotTokens(tokenRows, a, lanes, batch, perToken, rows, r, n, sums, out, outOff));
            };
        }
        if (vector && batch > 1 && Q6_KRowGemm.serves(batch)) {
            return (start, end) -> Q6_KRowGemm.rows(this, a, batch, out, outOff, start, end);
        }
        if (vector && IntDot.WIDE) {
            PairedRows pr = batch == 1 ? pairedCopy() : null;
            if (pr != null) {
                if (PairLanes.ENABLED) {
                    short[] lanes = a.q6KLanes();
                    return (start, end) -> PairedRows.forRows(start, end, (r, n) -> Q6_KSixBits.dot(pr, a, lanes, 0, r, n, out, outOff + r));
                }
                return (start, end) -> PairedRows.forRows(start, end, (r, n) -> dotPaired(pr, a, r, n, out, outOff + r));
            }
            return (start, end) -> {
                int[] sc = new int[SUBS];
                int[] sums = new int[perToken];
                for (int r = start; r < end; r++) {
                    for (int b = 0; b < batch; b++) {
                        out[outOff + b * rows + r] = rowDotWide(r, a, b * perToken, sc, sums);
                    }
                }
            };
        }
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
            return rowDotWide(row, a, blk0, new int[SUBS], new int[cols / QK]);
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
     * {@link #rowDot} with the 16-bit product kernel: first every super-block's integer sum
     * ({@link #scaledSumsWide}), then the same float operations as {@link #blockValue} for a format
     * without mins, in the same order. sc and sums are scratch (16 ints, cols/256 ints), allocated
     * once per task by {@link #rowsTask}, not per row.
     */
    private float rowDotWide(int row, Q8_KActivations a, int blk0, int[] sc, int[] sums) {
        long base = rowOffset(row);
        int blocks = cols / QK;
        scaledSumsWide(base, blocks, a.qs, blk0 * QK, a.bsums, blk0 * SUBS, sc, sums);
        float sum = 0f;
        for (int blk = 0; blk < blocks; blk++) {
            sum += a.d[blk0 + blk] * (half(base + (long) blk * blockBytes + D) * sums[blk]);
        }
        return sum;
    }

    /**
     * Batches up to 16 run on the paired copy, each row-block rebuilt once for all tokens ({@link
     * Q6_KSixBits#dotTokens}, {@link TokenRows}) rather than Q6_KRowGemm or KQuantGemm's token tile:
     * against the tile, one thread, 1.38-1.89x at 9-12 tokens, 1.00-1.27 at 16, 0.96 at 32 (2048 x
     * 2048, 5632 x 2048, 32000 x 768). Was 8: the tile took 9 and up before rowsTask was asked.
     */
    static final int TOKEN_ROWS_UP_TO = 16;

    @Override
    int tokenRowsUpTo() {
        return TOKEN_ROWS_UP_TO;
    }

    /**
     * At 512 bits the copy's weights are in {@link SubBlockLanes#Q6_K}'s order, in six bits ({@link
     * Q6_KSixBits}, for its batch-1 kernel); {@link #decodeUnsigned} and {@link #decodeScaledPaired}
     * unpack them and put them back in element order.
     */
    private static final boolean LANES = PairLanes.ENABLED;

    private PairedRows pairedCopy() {
        return paired.get(() -> LANES ? pairedCopyInLanes() : pairedCopyInElements());
    }

    /** The copy with each row-block's weights permuted into the lane order and packed, via one block in element order. */
    private PairedRows pairedCopyInLanes() {
        return PairedRows.of(data, rows, cols / QK, blockBytes, Q6_KSixBits.PAYLOAD, 1, () -> {
            byte[] block = new byte[PAIRED]; // one thread's scratch
            byte[] lanes = new byte[QK];
            float[] scale = new float[1];
            return (o, q, qAt, d, dAt) -> {
                copyBlock(o, block, 0, scale, 0);
                SubBlockLanes.toLanes(block, 0, lanes, 0, SubBlockLanes.Q6_K);
                Q6_KSixBits.pack(lanes, 0, q, qAt);
                System.arraycopy(block, QK, q, qAt + Q6_KSixBits.SCALES_AT, SUBS);
                d[dAt] = scale[0];
            };
        });
    }

    /** The six-bit row-block of the copy at q[from..] into block in element order (weights, then the scales); lanes is scratch. */
    private static void elementOrder(byte[] q, int from, byte[] lanes, byte[] block) {
        Q6_KSixBits.unpack(q, from, lanes, 0);
        SubBlockLanes.toElements(lanes, 0, block, 0, SubBlockLanes.Q6_K);
        System.arraycopy(q, from + Q6_KSixBits.SCALES_AT, block, QK, SUBS);
    }

    private PairedRows pairedCopyInElements() {
        return PairedRows.of(data, rows, cols / QK, blockBytes, PAIRED, 1, () -> this::copyBlock);
    }

    /** The paired row-block of the block at o in element order: q - 32 as bytes, then the 16 scales; d as a float. */
    private void copyBlock(long o, byte[] q, int qAt, float[] d, int dAt) {
        // scaledQuants' unpacking without the scales: a scalar loop per weight made the copy of
        // a TinyLlama-sized file take ~3 s.
        for (int g = 0; g < 8; g++) {
            int h = g >>> 2, r0 = (g & 2) * 8, second = g & 1;
            int e = h * 128 + r0 + 32 * second;
            ShortVector l = wideBytes(o + h * 64 + r0 + 32 * second);
            ShortVector hb = wideBytes(o + QH + h * 32 + r0);
            ShortVector ha = second == 0 ? hb.lanewise(VectorOperators.LSHL, 4) : hb.lanewise(VectorOperators.LSHL, 2);
            ShortVector hbb = second == 0 ? hb : hb.lanewise(VectorOperators.LSHR, 2);
            ((ByteVector) l.and((short) 0x0F).or(ha.and((short) 0x30)).sub((short) 32)
                    .convertShape(VectorOperators.S2B, BYTES, 0)).intoArray(q, qAt + e);
            ((ByteVector) l.lanewise(VectorOperators.LSHR, 4).and((short) 0x0F).or(hbb.and((short) 0x30)).sub((short) 32)
                    .convertShape(VectorOperators.S2B, BYTES, 0)).intoArray(q, qAt + e + 64);
        }
        MemorySegment.copy(data, ValueLayout.JAVA_BYTE, o + SCALES, q, qAt + QK, SUBS);
        d[dAt] = half(o + D);
    }

    /**
     * Rows r .. r+n-1 (n = 1, or 2 with r even, sharing the activation loads) of the paired copy
     * into out[o..o+n): per super-block {@link #scaledSum}'s integer (exact, so equal to
     * {@link #scaledSumsWide}'s: 16-bit products, |q - 32| * 127 * 2 < 2^15 per pair, paired as
     * IntDot.pairsNarrow, times the sub-block's scale) and {@link #rowDotWide}'s float operations,
     * per row in the same order, so the same bits. Row 1's offsets repeat row 0's when n == 1: its
     * sum is computed and dropped.
     */
    private static void dotPaired(PairedRows pr, Q8_KActivations a, int r, int n, float[] out, int o) {
        byte[] wq = pr.q;
        float[] wd = pr.d;
        short[] qx = a.qs;
        int blocks = pr.blocks;
        int first = 2 * (r >> 1) * blocks + (r & 1);
        int second = n == 2 ? PAIRED : 0, secondD = n == 2 ? 1 : 0;
        float sum0 = 0f, sum1 = 0f;
        for (int blk = 0; blk < blocks; blk++) {
            int at = first + 2 * blk, w0 = at * PAIRED, w1 = w0 + second;
            int e = blk * QK;
            IntVector acc0 = IntVector.zero(PAIRS), acc1 = IntVector.zero(PAIRS);
            for (int k = 0; k < 4; k++) {
                int x = e + 64 * k, q0 = w0 + 64 * k, q1 = w1 + 64 * k, s0 = w0 + QK + 4 * k, s1 = w1 + QK + 4 * k;
                ShortVector x0 = ShortVector.fromArray(SHORTS, qx, x), x1 = ShortVector.fromArray(SHORTS, qx, x + 16);
                ShortVector x2 = ShortVector.fromArray(SHORTS, qx, x + 32), x3 = ShortVector.fromArray(SHORTS, qx, x + 48);
                IntVector p0 = ((ShortVector) ByteVector.fromArray(BYTES, wq, q0).convertShape(VectorOperators.B2S, SHORTS, 0)).mul(x0).reinterpretAsInts();
                IntVector p1 = ((ShortVector) ByteVector.fromArray(BYTES, wq, q0 + 16).convertShape(VectorOperators.B2S, SHORTS, 0)).mul(x1).reinterpretAsInts();
                IntVector p2 = ((ShortVector) ByteVector.fromArray(BYTES, wq, q0 + 32).convertShape(VectorOperators.B2S, SHORTS, 0)).mul(x2).reinterpretAsInts();
                IntVector p3 = ((ShortVector) ByteVector.fromArray(BYTES, wq, q0 + 48).convertShape(VectorOperators.B2S, SHORTS, 0)).mul(x3).reinterpretAsInts();
                acc0 = acc0.add(p0.add(p0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(wq[s0]))
                        .add(p1.add(p1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(wq[s0 + 1]))
                        .add(p2.add(p2.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(wq[s0 + 2]))
                        .add(p3.add(p3.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(wq[s0 + 3]));
                IntVector r0 = ((ShortVector) ByteVector.fromArray(BYTES, wq, q1).convertShape(VectorOperators.B2S, SHORTS, 0)).mul(x0).reinterpretAsInts();
                IntVector r1 = ((ShortVector) ByteVector.fromArray(BYTES, wq, q1 + 16).convertShape(VectorOperators.B2S, SHORTS, 0)).mul(x1).reinterpretAsInts();
                IntVector r2 = ((ShortVector) ByteVector.fromArray(BYTES, wq, q1 + 32).convertShape(VectorOperators.B2S, SHORTS, 0)).mul(x2).reinterpretAsInts();
                IntVector r3 = ((ShortVector) ByteVector.fromArray(BYTES, wq, q1 + 48).convertShape(VectorOperators.B2S, SHORTS, 0)).mul(x3).reinterpretAsInts();
                acc1 = acc1.add(r0.add(r0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(wq[s1]))
                        .add(r1.add(r1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(wq[s1 + 1]))
                        .add(r2.add(r2.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(wq[s1 + 2]))
                        .add(r3.add(r3.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(wq[s1 + 3]));
            }
            float da = a.d[blk];
            sum0 += da * (wd[at] * acc0.reduceLanes(VectorOperators.ADD));
            sum1 += da * (wd[at + secondD] * acc1.reduceLanes(VectorOperators.ADD));
        }
        out[o] = sum0;
        if (n == 2) {
            out[o + 1] = sum1;
        }
    }

    @Override
    void scales(long o, int[] sc, int[] m) {
        // Two 8-byte reads rather than 16 byte reads (each a checked segment access): KQuantGemm's
        // panel decode of 32000 x 768 5.4 ms against 6.1-6.2 (with scaledQuants out of line, see
        // scripts/kernels.compile-commands).
        long lo = head(o + SCALES), hi = head(o + SCALES + 8);
        for (int s = 0; s < 8; s++) {
            sc[s] = (byte) (lo >>> 8 * s);
            sc[s + 8] = (byte) (hi >>> 8 * s);
        }
    }

    @Override
    void scales(byte[] b, int at, int[] sc, int[] m) {
        for (int s = 0; s < SUBS; s++) {
            sc[s] = b[at + SCALES + s]; // signed
        }
    }

    /**
     * Per sub-block sum (q + 32) * x, then minus 32 times the activations' 16-value sum: the same
     * integer as over q, without the offset on every weight. Half h, bytes l in [16k, 16k + 16): the
     * four elements 128h + 32j + l (j = 0..3) lie in sub-blocks 8h + 2j + k.
     */
    @Override
    int twinDot(byte[] b, int at, int[] sc, int[] qx, int x, int[] bsums, int bs) {
        int isum = 0;
        for (int h = 0; h < 2; h++) {
            for (int k = 0; k < 2; k++) {
                int p0 = 0, p1 = 0, p2 = 0, p3 = 0;
                int lo = at + h * 64 + 16 * k, hb = at + QH + h * 32 + 16 * k, e = x + 128 * h + 16 * k;
                for (int l = 0; l < 16; l++) {
                    int lo0 = b[lo + l] & 0xFF, lo1 = b[lo + 32 + l] & 0xFF, hi = b[hb + l] & 0xFF;
                    p0 += ((lo0 & 0x0F) | (hi & 3) << 4) * qx[e + l];
                    p1 += ((lo1 & 0x0F) | (hi & 0x0C) << 2) * qx[e + 32 + l];
                    p2 += ((lo0 >>> 4) | (hi & 0x30)) * qx[e + 64 + l];
                    p3 += ((lo1 >>> 4) | (hi & 0xC0) >>> 2) * qx[e + 96 + l];
                }
                int s = 8 * h + k;
                isum += sc[s] * (p0 - 32 * bsums[bs + s]) + sc[s + 2] * (p1 - 32 * bsums[bs + s + 2])
                        + sc[s + 4] * (p2 - 32 * bsums[bs + s + 4]) + sc[s + 6] * (p3 - 32 * bsums[bs + s + 6]);
            }
        }
        return isum;
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
    void quants(byte[] b, int at, int[] q) {
        for (int h = 0; h < 2; h++) { // half h, l < 32: elements l, 32+l, 64+l, 96+l share two low bytes and a high one
            for (int l = 0; l < 32; l++) {
                int lo0 = b[at + h * 64 + l] & 0xFF, lo1 = b[at + h * 64 + 32 + l] & 0xFF, hi = b[at + QH + h * 32 + l] & 0xFF;
                q[h * 128 + l] = ((lo0 & 0x0F) | (hi & 3) << 4) - 32;
                q[h * 128 + 32 + l] = ((lo1 & 0x0F) | (hi >>> 2 & 3) << 4) - 32;
                q[h * 128 + 64 + l] = ((lo0 >>> 4) | (hi >>> 4 & 3) << 4) - 32;
                q[h * 128 + 96 + l] = ((lo1 >>> 4) | (hi >>> 6) << 4) - 32;
            }
        }
    }

    /** {@link #scaledSumWide}'s unpacking, once per super-block, times the scales, as floats. */
    @Override
    boolean vectorDecode() {
        return IntDot.WIDE;
    }

    /**
     * The panel decode from the paired copy (built here if the batch-1 kernel has not yet): per
     * super-block the six-bit form's bytes rebuilt in registers ({@link Q6_KSixBits#unpack}'s
     * operations written out: through a call and scratch it made the 16-token decode 0.81-0.87x the
     * byte copy's, now 0.95-1.27x), the lane order's 4-byte groups transposed back to element order (two
     * 4 x 8 int transposes, even and odd vectors), then per sub-block one 16-byte load, a widening
     * to floats and a multiply by the scale, exact in fp32 (|q - 32| * 128 &lt; 2^24): the very
     * floats scaledQuants forms. At 512 bits, where a sub-block is one float vector. KQuantGemm's
     * decode of the stories110M classifier (32000 x 768) was a third of a 16-sequence decode step's
     * samples on a Q4_0 file: the unpacking and a checked read per 16 bytes. (Two-source permutes
     * of 16-bit lanes, and B2F of a 256-bit vector's upper half, ran in the Vector API's Java
     * fallback on JDK 25: ints and a store to scratch instead.)
     */
    @Override
    boolean decodeScaledPaired(int row, float[] w, int wOff, int blockStride, float[] dm, int dmOff, int[] mins, int mOff,
                               DecodeScratch scratch) {
        if (!LANES || Vec.FL != SUB) {
            return false;
        }
        PairedRows pr = pairedCopy();
        if (pr == null) {
            return false;
        }
        byte[] q = pr.q, t = scratch.lanes;
        int blocks = cols / QK;
        int first = 2 * (row >> 1) * blocks + (row & 1);
        for (int blk = 0; blk < blocks; blk++) {
            int at = first + 2 * blk, from = at * Q6_KSixBits.PAYLOAD, wo = wOff + blk * blockStride;
            dm[dmOff + 2 * blk] = pr.d[at];
            dm[dmOff + 2 * blk + 1] = 0f;
            java.util.Arrays.fill(mins, mOff + blk * SUBS, mOff + (blk + 1) * SUBS, 0);
            // Q6_KSixBits.unpack's W_0 .. W_3 in registers: their even bytes are V_0, V_2, V_4, V_6, their odd ones V_1, ...
            IntVector n0 = ByteVector.fromArray(ByteVector.SPECIES_512, q, from).reinterpretAsInts();
            IntVector n1 = ByteVector.fromArray(ByteVector.SPECIES_512, q, from + 64).reinterpretAsInts();
            IntVector hb = ByteVector.fromArray(ByteVector.SPECIES_512, q, from + 128).reinterpretAsInts();
            IntVector w0 = n0.and(0x0F0F0F0F).or(hb.lanewise(VectorOperators.LSHL, 4).and(0x30303030));
            IntVector w1 = n0.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(hb.lanewise(VectorOperators.LSHL, 2).and(0x30303030));
            IntVector w2 = n1.and(0x0F0F0F0F).or(hb.and(0x30303030));
            IntVector w3 = n1.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(hb.lanewise(VectorOperators.LSHR, 2).and(0x30303030));
            for (int half = 0; half < 2; half++) { // even vectors: sub-blocks 0-7; odd: 8-15
                IntVector v0 = ((half == 0 ? w0 : w0.lanewise(VectorOperators.LSHR, 8)).and(0x00FF00FF).reinterpretAsShorts().sub((short) 32)
                        .convertShape(VectorOperators.S2B, PairLanes.B, 0)).reinterpretAsInts();
                IntVector v2 = ((half == 0 ? w1 : w1.lanewise(VectorOperators.LSHR, 8)).and(0x00FF00FF).reinterpretAsShorts().sub((short) 32)
                        .convertShape(VectorOperators.S2B, PairLanes.B, 0)).reinterpretAsInts();
                IntVector v4 = ((half == 0 ? w2 : w2.lanewise(VectorOperators.LSHR, 8)).and(0x00FF00FF).reinterpretAsShorts().sub((short) 32)
                        .convertShape(VectorOperators.S2B, PairLanes.B, 0)).reinterpretAsInts();
                IntVector v6 = ((half == 0 ? w3 : w3.lanewise(VectorOperators.LSHR, 8)).and(0x00FF00FF).reinterpretAsShorts().sub((short) 32)
                        .convertShape(VectorOperators.S2B, PairLanes.B, 0)).reinterpretAsInts();
                IntVector p = ZIP_LOW.selectFrom(v0, v2), pq = ZIP_HIGH.selectFrom(v0, v2);
                IntVector r = ZIP_LOW.selectFrom(v4, v6), rs = ZIP_HIGH.selectFrom(v4, v6);
                int to = 128 * half;
                PAIRS_FIRST.selectFrom(p, r).reinterpretAsBytes().intoArray(t, to);
                PAIRS_SECOND.selectFrom(p, r).reinterpretAsBytes().intoArray(t, to + 32);
                PAIRS_FIRST.selectFrom(pq, rs).reinterpretAsBytes().intoArray(t, to + 64);
                PAIRS_SECOND.selectFrom(pq, rs).reinterpretAsBytes().intoArray(t, to + 96);
            }
            for (int s = 0; s < SUBS; s++) {
                ((FloatVector) ByteVector.fromArray(ByteVector.SPECIES_128, t, SUB * s).convertShape(VectorOperators.B2F, Vec.F, 0))
                        .mul(pr.q[from + Q6_KSixBits.SCALES_AT + s]).intoArray(w, wo + SUB * s);
            }
        }
        return true;
    }

    /** Two-source int indices (8 + k: the second vector's lane k) of a 4 x 8 transpose of 4-byte groups. */
    private static final IntVector ZIP_LOW = IntVector.fromArray(PAIRS, new int[] {0, 8, 1, 9, 2, 10, 3, 11}, 0);
    private static final IntVector ZIP_HIGH = IntVector.fromArray(PAIRS, new int[] {4, 12, 5, 13, 6, 14, 7, 15}, 0);
    private static final IntVector PAIRS_FIRST = IntVector.fromArray(PAIRS, new int[] {0, 1, 8, 9, 2, 3, 10, 11}, 0);
    private static final IntVector PAIRS_SECOND = IntVector.fromArray(PAIRS, new int[] {4, 5, 12, 13, 6, 7, 14, 15}, 0);

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
     * {@link #scaledSum} of each of {@code blocks} super-blocks from byte offset base into sums[blk]
     * (activations from qxOff0 and bOff0 on), in 16-bit products: q is taken unsigned (q+32 in
     * [0, 63], so a product with |qx| <= 127 fits a short and a pair of them 2*63*127 < 2^15) and
     * the 32 is subtracted once per super-block through the activations' block sums: the
     * accumulator starts at -32 * sum_s sc[s] * bsums[s]. The 16 scales are widened to ints once per
     * super-block into {@code sc} (16 ints of scratch), so each sub-block's broadcast is one load
     * from it. All sub-blocks add into one int vector, reduced once: the sum is exact, so the order
     * is free.
     */
    void scaledSumsWide(long base, int blocks, short[] qx, int qxOff0, int[] bsums, int bOff0, int[] sc, int[] sums) {
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * blockBytes;
            int qxOff = qxOff0 + blk * QK, bOff = bOff0 + blk * SUBS;
            // Vector API calls only, no helper of ours: C2 stops inlining plain methods once a compile
            // holds 18000 nodes (NodeCountInliningCutoff), which a dozen inlined vector operations reach
            // before they fold, and a helper left out of line boxes its vectors. The API's own methods
            // are @ForceInline, which that cutoff does not stop.
            IntVector lo = (IntVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, data, o + SCALES, Vec.LE)
                    .convertShape(VectorOperators.B2I, PAIRS, 0);
            IntVector hi = (IntVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, data, o + SCALES + 8, Vec.LE)
                    .convertShape(VectorOperators.B2I, PAIRS, 0);
            lo.intoArray(sc, 0);
            hi.intoArray(sc, 8);
            IntVector acc = IntVector.zero(PAIRS).sub(lo.mul(IntVector.fromArray(PAIRS, bsums, bOff))
                    .add(hi.mul(IntVector.fromArray(PAIRS, bsums, bOff + 8))).lanewise(VectorOperators.LSHL, 5));
            ShortVector nibble = ShortVector.broadcast(SHORTS, (short) 0x0F), top = ShortVector.broadcast(SHORTS, (short) 0x30);
            for (int h = 0; h < 2; h++) {
                // Half h, written out for its two 16-byte columns j = 0 and 16 (constant offsets: a loop
                // over the four (h, j) pairs spent ~50 scalar instructions a pass on their offsets).
                // ql at j and j+32 and qh at j hold the elements 128h + j + 32k (k = 0..3) of sub-blocks
                // 8h + j/16 + 2k: ql's low nibbles, then its high ones; qh's bit pairs 0-1, 2-3, 4-5, 6-7
                // moved to bits 4-5 by constant shifts, done on int lanes (C2 gives short-lane shifts a
                // count register, a move per shift; a bit crossing into the neighbouring short lands
                // outside the mask 0x30, as the bytes are zero-extended). Pairs as IntDot.pairsNarrow, written out.
                long ql = o + 64 * h, qh = o + QH + 32 * h;
                int e = qxOff + 128 * h, s = 8 * h;
                ShortVector l00 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, ql + 0, Vec.LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
                ShortVector l10 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, ql + 32, Vec.LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
                ShortVector hb0 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, qh + 0, Vec.LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
                IntVector p00 = l00.and(nibble).or(hb0.reinterpretAsInts().lanewise(VectorOperators.LSHL, 4).reinterpretAsShorts().and(top))
                        .mul(ShortVector.fromArray(SHORTS, qx, e + 0)).reinterpretAsInts();
                IntVector p10 = l10.and(nibble).or(hb0.reinterpretAsInts().lanewise(VectorOperators.LSHL, 2).reinterpretAsShorts().and(top))
                        .mul(ShortVector.fromArray(SHORTS, qx, e + 32)).reinterpretAsInts();
                IntVector p20 = l00.lanewise(VectorOperators.LSHR, 4).or(hb0.and(top))
                        .mul(ShortVector.fromArray(SHORTS, qx, e + 64)).reinterpretAsInts();
                IntVector p30 = l10.lanewise(VectorOperators.LSHR, 4).or(hb0.reinterpretAsInts().lanewise(VectorOperators.LSHR, 2).reinterpretAsShorts().and(top))
                        .mul(ShortVector.fromArray(SHORTS, qx, e + 96)).reinterpretAsInts();
                acc = acc.add(p00.add(p00.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(sc[s + 0]))
                        .add(p10.add(p10.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(sc[s + 2]))
                        .add(p20.add(p20.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(sc[s + 4]))
                        .add(p30.add(p30.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(sc[s + 6]));
                ShortVector l016 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, ql + 16, Vec.LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
                ShortVector l116 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, ql + 48, Vec.LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
                ShortVector hb16 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, qh + 16, Vec.LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
                IntVector p016 = l016.and(nibble).or(hb16.reinterpretAsInts().lanewise(VectorOperators.LSHL, 4).reinterpretAsShorts().and(top))
                        .mul(ShortVector.fromArray(SHORTS, qx, e + 16)).reinterpretAsInts();
                IntVector p116 = l116.and(nibble).or(hb16.reinterpretAsInts().lanewise(VectorOperators.LSHL, 2).reinterpretAsShorts().and(top))
                        .mul(ShortVector.fromArray(SHORTS, qx, e + 48)).reinterpretAsInts();
                IntVector p216 = l016.lanewise(VectorOperators.LSHR, 4).or(hb16.and(top))
                        .mul(ShortVector.fromArray(SHORTS, qx, e + 80)).reinterpretAsInts();
                IntVector p316 = l116.lanewise(VectorOperators.LSHR, 4).or(hb16.reinterpretAsInts().lanewise(VectorOperators.LSHR, 2).reinterpretAsShorts().and(top))
                        .mul(ShortVector.fromArray(SHORTS, qx, e + 112)).reinterpretAsInts();
                acc = acc.add(p016.add(p016.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(sc[s + 1]))
                        .add(p116.add(p116.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(sc[s + 3]))
                        .add(p216.add(p216.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(sc[s + 5]))
                        .add(p316.add(p316.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(sc[s + 7]));
            }
            sums[blk] = acc.reduceLanes(VectorOperators.ADD);
        }
    }

    /**
     * Row {@code row} unpacked for {@link Q6_KRowGemm}: u[e] = q_e + 32 (in [0, 63]) in element order,
     * the sub-block scales into sc[16*blk..] and the super-scales D into d[blk]; the same bits as
     * {@link #scaledSumsWide} takes from the packed row (256-bit vectors only).
     */
    void decodeUnsigned(int row, short[] u, int[] sc, float[] d) {
        PairedRows pr = PairLanes.ENABLED ? pairedCopy() : null;
        if (pr != null) { // the copy holds q - 32 unpacked, and the scale bytes: a widening and an add per 16
            byte[] q = LANES ? new byte[PAIRED] : pr.q, lanes = LANES ? new byte[QK] : null;
            int blocks = cols / QK;
            int first = 2 * (row >> 1) * blocks + (row & 1);
            for (int blk = 0; blk < blocks; blk++) {
                int at = first + 2 * blk, qo = LANES ? 0 : at * PAIRED;
                if (LANES) {
                    elementOrder(pr.q, at * Q6_KSixBits.PAYLOAD, lanes, q);
                }
                d[blk] = pr.d[at];
                for (int s = 0; s < SUBS; s++) {
                    sc[blk * SUBS + s] = q[qo + QK + s];
                    ((ShortVector) ByteVector.fromArray(BYTES, q, qo + SUB * s).convertShape(VectorOperators.B2S, SHORTS, 0))
                            .add((short) 32).intoArray(u, blk * QK + SUB * s);
                }
            }
            return;
        }
        long base = rowOffset(row);
        ShortVector nibble = ShortVector.broadcast(SHORTS, (short) 0x0F), top = ShortVector.broadcast(SHORTS, (short) 0x30);
        for (int blk = 0; blk < cols / QK; blk++) {
            long o = base + (long) blk * blockBytes;
            d[blk] = half(o + D);
            for (int s = 0; s < SUBS; s++) {
                sc[blk * SUBS + s] = data.get(ValueLayout.JAVA_BYTE, o + SCALES + s);
            }
            for (int c = 0; c < 4; c++) {
                // Half h = c/2, byte column j = 16*(c%2): ql at j and j+32 and qh at j hold elements
                // 128h + j + 32k (k = 0..3), as in scaledSumsWide.
                int h = c >>> 1, j = (c & 1) * 16, e = blk * QK + 128 * h + j;
                long ql = o + 64 * h + j, qh = o + QH + 32 * h + j;
                ShortVector l0 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, ql, Vec.LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
                ShortVector l1 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, ql + 32, Vec.LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
                ShortVector hb = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, qh, Vec.LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
                l0.and(nibble).or(hb.reinterpretAsInts().lanewise(VectorOperators.LSHL, 4).reinterpretAsShorts().and(top))
                        .intoArray(u, e);
                l1.and(nibble).or(hb.reinterpretAsInts().lanewise(VectorOperators.LSHL, 2).reinterpretAsShorts().and(top))
                        .intoArray(u, e + 32);
                l0.lanewise(VectorOperators.LSHR, 4).or(hb.and(top)).intoArray(u, e + 64);
                l1.lanewise(VectorOperators.LSHR, 4).or(hb.reinterpretAsInts().lanewise(VectorOperators.LSHR, 2).reinterpretAsShorts().and(top))
                        .intoArray(u, e + 96);
            }
        }
    }

    /** {@link #scaledSumsWide} for the one block at o (tests). */
    int scaledSumWide(long o, short[] qx, int qxOff, int[] bsums, int bOff) {
        int[] sums = new int[1];
        scaledSumsWide(o, 1, qx, qxOff, bsums, bOff, new int[SUBS], sums);
        return sums[0];
    }

    @Override
    float superScale(long o) {
        return half(o + D);
    }

    @Override
    float superScale(byte[] b, int at) {
        return IntDot.half(b, at + D);
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
