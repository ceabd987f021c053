package dev.tandem.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
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
    /** A row-block of the paired copy ({@link #pairedCopy}): the 8 scales, the 8 mins, one byte each, then qs. */
    static final int PAIRED = 16 + 128;
    static final int PAIRED_QS = 16;

    /** The batch-1 kernel's paired rows, built on first use. */
    private final PairedRows.Lazy paired = new PairedRows.Lazy();

    Q4_KMatrix(MemorySegment data, int rows, int cols) { super(data, rows, cols); }

    @Override public WeightFormat format() { return WeightFormat.Q4_K; }

    @Override
    Parallel.RangeBody rowsTask(Q8_KActivations a, int batch, float[] out, int outOff) {
        boolean vector = Vec.ENABLED;
        int perToken = cols / QK;
        if (vector && IntDot.WIDE) {
            PairedRows pr = batch == 1 || TokenRows.serves(batch, TOKEN_ROWS_UP_TO) ? pairedCopy() : null;
            if (pr != null) {
                if (PairLanes.ENABLED) {
                    return Q4_KLanes.rowsTask(pr, a, batch, perToken, rows, out, outOff);
                }
                return (start, end) -> PairedRows.forRows(start, end, (r, n) -> dotPaired(pr, a, r, n, out, outOff + r));
            }
            return (start, end) -> {
                int[] sums = new int[2 * perToken];
                for (int r = start; r < end; r++) {
                    for (int b = 0; b < batch; b++) {
                        out[outOff + b * rows + r] = rowDotWide(r, a, b * perToken, sums);
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
            return rowDotWide(row, a, blk0, new int[2 * (cols / QK)]);
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
     * {@link #rowDot} with the 16-bit product kernel: first every super-block's two integer sums
     * ({@link #scaledSumsWide}), then {@link #blockValue}'s float operations in the same order, d and
     * dmin read from the block's {@link #head}. sums is scratch (2 * cols/256 ints), allocated once per
     * task by {@link #rowsTask}, not per row.
     */
    private float rowDotWide(int row, Q8_KActivations a, int blk0, int[] sums) {
        long base = rowOffset(row);
        int blocks = cols / QK;
        scaledSumsWide(base, blocks, a.qs, blk0 * QK, a.pairSums, blk0 * (SUBS / 2), sums);
        return scaledMinusMins(base, blocks, a.d, blk0, sums);
    }

    /**
     * The copy the batch-1 kernel runs on: row pairs interleaved ({@link PairedRows}), each row-block
     * the 8 scales and 8 mins of {@link #packedScales}/{@link #packedMins} (one byte each), then the
     * 128 qs bytes, and d, dmin as floats: the kernel reads them without unpacking bits.
     */
    /**
     * At 512 bits the copy's nibbles are in {@link SubBlockLanes#Q4_K}'s order (for {@link
     * Q4_KLanes}' kernels); the panel decode puts them back in element order.
     */
    private static final boolean LANES = PairLanes.ENABLED;

    private PairedRows pairedCopy() {
        return paired.get(this::copyPaired);
    }

    private PairedRows copyPaired() {
        return PairedRows.of(data, rows, cols / QK, blockBytes, PAIRED, 2, () -> {
            byte[] nibbles = new byte[QK / 2]; // one thread's
            return (o, q, qAt, d, dAt) -> {
                copyPairedHead(o, q, qAt, d, dAt);
                if (LANES) {
                    MemorySegment.copy(data, ValueLayout.JAVA_BYTE, o + QS, nibbles, 0, QK / 2);
                    SubBlockLanes.nibblesToLanes(nibbles, 0, q, qAt + PAIRED_QS);
                } else {
                    MemorySegment.copy(data, ValueLayout.JAVA_BYTE, o + QS, q, qAt + PAIRED_QS, QK / 2);
                }
            };
        });
    }

    /**
     * Rows r .. r+n-1 (n = 1, or 2 with r even, sharing the activation loads) of the paired copy
     * into out[o..o+n): per super-block the integer sums of {@link #scaledSumsWide} (the same exact
     * integers; the scale and min bytes come unpacked from the copy) and then {@link #scaledMinusMins}'s
     * float operations, per row in the same order, so the same bits.
     */
    private static void dotPaired(PairedRows pr, Q8_KActivations a, int r, int n, float[] out, int o) {
        byte[] wq = pr.q;
        float[] wd = pr.d;
        short[] qx = a.qs;
        int blocks = pr.blocks;
        int first = 2 * (r >> 1) * blocks + (r & 1);
        // Row 1's offsets repeat row 0's when n == 1: its sums are computed and dropped.
        int second = n == 2 ? PAIRED : 0, secondD = n == 2 ? 2 : 0;
        ShortVector nibble = ShortVector.broadcast(SHORTS, (short) 0x0F);
        float sum0 = 0f, sum1 = 0f;
        for (int blk = 0; blk < blocks; blk++) {
            int at = first + 2 * blk, w0 = at * PAIRED, w1 = w0 + second;
            int e = blk * QK;
            IntVector pairSums = IntVector.fromArray(PAIRS, a.pairSums, blk * (SUBS / 2));
            int min0 = ((IntVector) ByteVector.fromArray(ByteVector.SPECIES_64, wq, w0 + 8)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, PAIRS, 0)).mul(pairSums).reduceLanes(VectorOperators.ADD);
            int min1 = ((IntVector) ByteVector.fromArray(ByteVector.SPECIES_64, wq, w1 + 8)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, PAIRS, 0)).mul(pairSums).reduceLanes(VectorOperators.ADD);
            IntVector acc0 = IntVector.zero(PAIRS), acc1 = IntVector.zero(PAIRS);
            for (int c = 0; c < 4; c++) {
                // Pass c as in scaledSumsWide: qs bytes 32c..32c+32, low nibbles sub-block 2c, high 2c+1.
                int x = e + 64 * c, q0 = w0 + PAIRED_QS + 32 * c, q1 = w1 + PAIRED_QS + 32 * c;
                ShortVector x0 = ShortVector.fromArray(SHORTS, qx, x), x1 = ShortVector.fromArray(SHORTS, qx, x + 16);
                ShortVector x2 = ShortVector.fromArray(SHORTS, qx, x + 32), x3 = ShortVector.fromArray(SHORTS, qx, x + 48);
                ShortVector a0 = (ShortVector) ByteVector.fromArray(BYTES, wq, q0).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
                ShortVector a1 = (ShortVector) ByteVector.fromArray(BYTES, wq, q0 + 16).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
                IntVector lo0 = a0.and(nibble).mul(x0).add(a1.and(nibble).mul(x1)).reinterpretAsInts();
                IntVector hi0 = a0.lanewise(VectorOperators.LSHR, 4).mul(x2).add(a1.lanewise(VectorOperators.LSHR, 4).mul(x3)).reinterpretAsInts();
                acc0 = acc0.add(lo0.add(lo0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(wq[w0 + 2 * c]))
                        .add(hi0.add(hi0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(wq[w0 + 2 * c + 1]));
                ShortVector b0 = (ShortVector) ByteVector.fromArray(BYTES, wq, q1).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
                ShortVector b1 = (ShortVector) ByteVector.fromArray(BYTES, wq, q1 + 16).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
                IntVector lo1 = b0.and(nibble).mul(x0).add(b1.and(nibble).mul(x1)).reinterpretAsInts();
                IntVector hi1 = b0.lanewise(VectorOperators.LSHR, 4).mul(x2).add(b1.lanewise(VectorOperators.LSHR, 4).mul(x3)).reinterpretAsInts();
                acc1 = acc1.add(lo1.add(lo1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(wq[w1 + 2 * c]))
                        .add(hi1.add(hi1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(wq[w1 + 2 * c + 1]));
            }
            float da = a.d[blk];
            sum0 += da * (wd[2 * at] * acc0.reduceLanes(VectorOperators.ADD) - wd[2 * at + 1] * min0);
            sum1 += da * (wd[2 * at + secondD] * acc1.reduceLanes(VectorOperators.ADD) - wd[2 * at + secondD + 1] * min1);
        }
        out[o] = sum0;
        if (n == 2) {
            out[o + 1] = sum1;
        }
    }

    /**
     * Batches up to 32 run on the paired copy, all tokens against each row pair's weights as they are
     * decoded once ({@link Q4_KLanes#dotTokens}, {@link TokenRows}) rather than in KQuantGemm's token
     * tiles, which pay from ~64 ({@link KQuantGemm#oneMin}). Was 7 with a batch-1 pass per token.
     */
    static final int TOKEN_ROWS_UP_TO = 32;

    @Override
    int tokenRowsUpTo() {
        return TOKEN_ROWS_UP_TO;
    }

    /** {@link #minSum} over the 8 mins of the block at o (each covers two 16-value activation sums): the same integer. */
    int minSumWide(long o, int[] bsums, int from) {
        return packedMinSum(packedMins(packed(o)), bsums, from);
    }

    @Override
    void scales(long o, int[] sc, int[] m) {
        packedScalesAndMins(o + SCALES, sc, m);
    }

    @Override
    void scales(byte[] b, int at, int[] sc, int[] m) {
        packedScalesAndMins(b, at + SCALES, sc, m);
    }

    @Override
    int twinDot(byte[] b, int at, int[] sc, int[] qx, int x, int[] bsums, int bs) {
        int isum = 0;
        for (int c = 0; c < 4; c++) { // low nibbles: sub-block 2c (sc[4c]), high: 2c + 1 (sc[4c + 2])
            int low = 0, high = 0, w = at + QS + 32 * c, e = x + 64 * c;
            for (int l = 0; l < 32; l++) {
                int v = b[w + l] & 0xFF;
                low += (v & 0x0F) * qx[e + l];
                high += (v >>> 4) * qx[e + 32 + l];
            }
            isum += sc[4 * c] * low + sc[4 * c + 2] * high;
        }
        return isum;
    }

    @Override
    int quant(long o, int e) {
        return (u8(o + QS + (e >>> 6) * 32 + (e & 31)) >>> (4 * ((e >>> 5) & 1))) & 0x0F;
    }

    @Override
    void quants(byte[] b, int at, int[] q) {
        for (int c = 0; c < 4; c++) { // byte l of run c: element 64c + l in its low nibble, 64c + 32 + l in its high
            for (int l = 0; l < 32; l++) {
                int v = b[at + QS + 32 * c + l] & 0xFF;
                q[64 * c + l] = v & 0x0F;
                q[64 * c + 32 + l] = v >>> 4;
            }
        }
    }

    /**
     * The panel decode from the paired copy (built here if the batch-1 kernel has not yet): scales and
     * mins come unpacked, one byte each, and the nibbles from a heap array rather than checked segment
     * reads. Per 16 bytes, the low nibbles (elements 64c + l) and the high ones (64c + 32 + l) are
     * widened to floats and multiplied by their sub-block's scale, exact in fp32 (15 * 63 &lt; 2^24):
     * the very floats scaledQuants forms. At 512 bits, where 16 elements are one float vector.
     */
    @Override
    boolean decodeScaledPaired(int row, float[] w, int wOff, int blockStride, float[] dm, int dmOff, int[] mins, int mOff,
                               DecodeScratch scratch) {
        if (!LANES || Vec.FL != 16) {
            return false;
        }
        PairedRows pr = pairedCopy();
        if (pr == null) {
            return false;
        }
        byte[] q = pr.q;
        int blocks = cols / QK;
        int first = 2 * (row >> 1) * blocks + (row & 1);
        for (int blk = 0; blk < blocks; blk++) {
            int at = first + 2 * blk, qo = at * PAIRED, wo = wOff + blk * blockStride, mo = mOff + blk * SUBS;
            dm[dmOff + 2 * blk] = pr.d[2 * at];
            dm[dmOff + 2 * blk + 1] = pr.d[2 * at + 1];
            for (int j = 0; j < 8; j++) {
                mins[mo + 2 * j] = mins[mo + 2 * j + 1] = q[qo + 8 + j];
            }
            decodeLaneBlock(q, qo, w, wo, scratch.lanes);
        }
        return true;
    }

    /** Two-source int indices (8 + k: the second vector's lane k) of an 8 x 8 transpose's three stages. */
    private static final IntVector EVEN_PAIRS = ints(0, 8, 2, 10, 4, 12, 6, 14);
    private static final IntVector ODD_PAIRS = ints(1, 9, 3, 11, 5, 13, 7, 15);
    private static final IntVector LOW_TWOS = ints(0, 1, 8, 9, 4, 5, 12, 13);
    private static final IntVector HIGH_TWOS = ints(2, 3, 10, 11, 6, 7, 14, 15);
    private static final IntVector LOW_FOURS = ints(0, 1, 2, 3, 8, 9, 10, 11);
    private static final IntVector HIGH_FOURS = ints(4, 5, 6, 7, 12, 13, 14, 15);

    private static IntVector ints(int... values) {
        return IntVector.fromArray(PAIRS, values, 0);
    }

    /**
     * One row-block of the lane-order copy at q[qo..] decoded into w[wo..wo+256) in element order:
     * vector j (chunk j/2's low or high nibbles, 32 bytes) holds 4 elements of each sub-block s as
     * its 4-byte group s, so sub-block s in element order is group s of vectors 0..7: an 8 x 8
     * transpose of ints (three two-source permutes per pair of vectors), stored to scratch, then per
     * 16 elements a widening to floats and a multiply by the scale: the very floats of the
     * element-order decode. (Transposing as 64-bit groups of shorts and widening a 512-bit short
     * vector's halves to floats cost a b16 stories110M Q4_K_M step a sixth of its samples.)
     */
    private static void decodeLaneBlock(byte[] q, int qo, float[] w, int wo, byte[] t) {
        ByteVector c0 = ByteVector.fromArray(PairLanes.B, q, qo + PAIRED_QS), c1 = ByteVector.fromArray(PairLanes.B, q, qo + PAIRED_QS + 32);
        ByteVector c2 = ByteVector.fromArray(PairLanes.B, q, qo + PAIRED_QS + 64), c3 = ByteVector.fromArray(PairLanes.B, q, qo + PAIRED_QS + 96);
        IntVector v0 = c0.and((byte) 0x0F).reinterpretAsInts(), v1 = c0.lanewise(VectorOperators.LSHR, 4).and((byte) 0x0F).reinterpretAsInts();
        IntVector v2 = c1.and((byte) 0x0F).reinterpretAsInts(), v3 = c1.lanewise(VectorOperators.LSHR, 4).and((byte) 0x0F).reinterpretAsInts();
        IntVector v4 = c2.and((byte) 0x0F).reinterpretAsInts(), v5 = c2.lanewise(VectorOperators.LSHR, 4).and((byte) 0x0F).reinterpretAsInts();
        IntVector v6 = c3.and((byte) 0x0F).reinterpretAsInts(), v7 = c3.lanewise(VectorOperators.LSHR, 4).and((byte) 0x0F).reinterpretAsInts();
        IntVector a0 = EVEN_PAIRS.selectFrom(v0, v1), a1 = ODD_PAIRS.selectFrom(v0, v1);
        IntVector a2 = EVEN_PAIRS.selectFrom(v2, v3), a3 = ODD_PAIRS.selectFrom(v2, v3);
        IntVector a4 = EVEN_PAIRS.selectFrom(v4, v5), a5 = ODD_PAIRS.selectFrom(v4, v5);
        IntVector a6 = EVEN_PAIRS.selectFrom(v6, v7), a7 = ODD_PAIRS.selectFrom(v6, v7);
        IntVector b0 = LOW_TWOS.selectFrom(a0, a2), b1 = LOW_TWOS.selectFrom(a1, a3);
        IntVector b2 = HIGH_TWOS.selectFrom(a0, a2), b3 = HIGH_TWOS.selectFrom(a1, a3);
        IntVector b4 = LOW_TWOS.selectFrom(a4, a6), b5 = LOW_TWOS.selectFrom(a5, a7);
        IntVector b6 = HIGH_TWOS.selectFrom(a4, a6), b7 = HIGH_TWOS.selectFrom(a5, a7);
        LOW_FOURS.selectFrom(b0, b4).reinterpretAsBytes().intoArray(t, 0);
        LOW_FOURS.selectFrom(b1, b5).reinterpretAsBytes().intoArray(t, 32);
        LOW_FOURS.selectFrom(b2, b6).reinterpretAsBytes().intoArray(t, 64);
        LOW_FOURS.selectFrom(b3, b7).reinterpretAsBytes().intoArray(t, 96);
        HIGH_FOURS.selectFrom(b0, b4).reinterpretAsBytes().intoArray(t, 128);
        HIGH_FOURS.selectFrom(b1, b5).reinterpretAsBytes().intoArray(t, 160);
        HIGH_FOURS.selectFrom(b2, b6).reinterpretAsBytes().intoArray(t, 192);
        HIGH_FOURS.selectFrom(b3, b7).reinterpretAsBytes().intoArray(t, 224);
        for (int e = 0; e < QK; e += 16) {
            ((FloatVector) ByteVector.fromArray(ByteVector.SPECIES_128, t, e).convertShape(VectorOperators.B2F, Vec.F, 0))
                    .mul(q[qo + e / 32]).intoArray(w, wo + e);
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

    /** {@link #scaledSum} in 16-bit products for the block at o (tests). */
    int scaledSumWide(long o, short[] qx, int qxOff) {
        int[] sums = new int[2];
        scaledSumsWide(o, 1, qx, qxOff, new int[SUBS / 2], 0, sums);
        return sums[0];
    }

    /**
     * For each of {@code blocks} super-blocks from byte offset base (activations from qxOff0 and
     * bOff0 on): its {@link #scaledSum} into sums[2*blk] and its {@link #minSum} into sums[2*blk + 1],
     * in 16-bit products. Scale j (min j) is byte j of {@link #packedScales} ({@link #packedMins}).
     * A 32-value sub-block has one scale, so its two halves' products (each at most 15 * 127) are
     * added in shorts before pairing; two 16-byte loads, widened without sign, give the low-nibble
     * sub-block (and 15) and the high-nibble one (a shift alone). All sub-blocks add into one int
     * vector, reduced once: the sum is exact, so the order is free.
     *
     * <p>Written with Vector API calls only and the four 64-value passes written out, as Q6_K's
     * ({@link Q6_KMatrix#scaledSumsWide}): C2 stops inlining plain helper methods once a compile
     * holds 18000 nodes (NodeCountInliningCutoff), a helper left out of line boxes its vectors, and
     * a loop over the passes cost ~10 scalar instructions a pass on offsets and scale shifts.
     */
    void scaledSumsWide(long base, int blocks, short[] qx, int qxOff0, int[] pairSums, int pOff0, int[] sums) {
        ShortVector nibble = ShortVector.broadcast(SHORTS, (short) 0x0F);
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * blockBytes;
            int e = qxOff0 + blk * QK;
            long head = head(o), packed = packed(o);
            long sc = packedScales(head, packed);
            // Before the vector code: parsed after it, these plain calls met the inlining cutoff (below).
            sums[2 * blk + 1] = packedMinSumWide(packedMins(packed), pairSums, pOff0 + blk * (SUBS / 2));
            IntVector acc = IntVector.zero(PAIRS);
            // Pass c: qs[32c..32c+32), elements 64c + l (low nibbles, sub-block 2c) and 64c + 32 + l
            // (high nibbles, 2c+1); pairs as IntDot.pairsNarrow, written out.
            ShortVector b00 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, o + QS, Vec.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
            ShortVector b10 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, o + QS + 16, Vec.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
            IntVector lo0 = b00.and(nibble).mul(ShortVector.fromArray(SHORTS, qx, e))
                    .add(b10.and(nibble).mul(ShortVector.fromArray(SHORTS, qx, e + 16))).reinterpretAsInts();
            IntVector hi0 = b00.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(SHORTS, qx, e + 32))
                    .add(b10.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(SHORTS, qx, e + 48))).reinterpretAsInts();
            acc = acc.add(lo0.add(lo0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul((int) sc & 0xFF))
                    .add(hi0.add(hi0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul((int) (sc >>> 8) & 0xFF));
            ShortVector b01 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, o + QS + 32, Vec.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
            ShortVector b11 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, o + QS + 48, Vec.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
            IntVector lo1 = b01.and(nibble).mul(ShortVector.fromArray(SHORTS, qx, e + 64))
                    .add(b11.and(nibble).mul(ShortVector.fromArray(SHORTS, qx, e + 80))).reinterpretAsInts();
            IntVector hi1 = b01.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(SHORTS, qx, e + 96))
                    .add(b11.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(SHORTS, qx, e + 112))).reinterpretAsInts();
            acc = acc.add(lo1.add(lo1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul((int) (sc >>> 16) & 0xFF))
                    .add(hi1.add(hi1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul((int) (sc >>> 24) & 0xFF));
            ShortVector b02 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, o + QS + 64, Vec.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
            ShortVector b12 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, o + QS + 80, Vec.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
            IntVector lo2 = b02.and(nibble).mul(ShortVector.fromArray(SHORTS, qx, e + 128))
                    .add(b12.and(nibble).mul(ShortVector.fromArray(SHORTS, qx, e + 144))).reinterpretAsInts();
            IntVector hi2 = b02.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(SHORTS, qx, e + 160))
                    .add(b12.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(SHORTS, qx, e + 176))).reinterpretAsInts();
            acc = acc.add(lo2.add(lo2.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul((int) (sc >>> 32) & 0xFF))
                    .add(hi2.add(hi2.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul((int) (sc >>> 40) & 0xFF));
            ShortVector b03 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, o + QS + 96, Vec.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
            ShortVector b13 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, o + QS + 112, Vec.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
            IntVector lo3 = b03.and(nibble).mul(ShortVector.fromArray(SHORTS, qx, e + 192))
                    .add(b13.and(nibble).mul(ShortVector.fromArray(SHORTS, qx, e + 208))).reinterpretAsInts();
            IntVector hi3 = b03.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(SHORTS, qx, e + 224))
                    .add(b13.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(SHORTS, qx, e + 240))).reinterpretAsInts();
            acc = acc.add(lo3.add(lo3.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul((int) (sc >>> 48) & 0xFF))
                    .add(hi3.add(hi3.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul((int) (sc >>> 56) & 0xFF));
            sums[2 * blk] = acc.reduceLanes(VectorOperators.ADD);
        }
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
    float superScale(byte[] b, int at) {
        return IntDot.half(b, at);
    }

    @Override
    float superMin(byte[] b, int at) {
        return IntDot.half(b, at + 2);
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
