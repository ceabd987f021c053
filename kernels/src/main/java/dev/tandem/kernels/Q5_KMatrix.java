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
 * Q5_K weights: super-blocks of {f16 d; f16 dmin; uint8 scales[12]; uint8 qh[32]; uint8 qs[128]}
 * (176 bytes). Scales and low nibbles as Q4_K; the fifth bit of element e is bit e/32 of qh[e%32].
 */
public final class Q5_KMatrix extends KQuantMatrix {
    private static final int SCALES = 4;
    private static final int QH = 16;
    private static final int QS = 48;
    /** A row-block of the paired copy ({@link #pairedCopy}): the 8 scales, the 8 mins, then 256 weights, one byte each. */
    private static final int PAIRED = 16 + QK;
    private static final int PAIRED_Q = 16;

    /** The batch-1 kernel's paired rows, built on first use. */
    private final PairedRows.Lazy paired = new PairedRows.Lazy();

    Q5_KMatrix(MemorySegment data, int rows, int cols) { super(data, rows, cols); }

    @Override public WeightFormat format() { return WeightFormat.Q5_K; }

    @Override
    Parallel.RangeBody rowsTask(Q8_KActivations a, int batch, float[] out, int outOff) {
        boolean vector = Vec.ENABLED;
        int perToken = cols / QK;
        if (vector && IntDot.WIDE) {
            PairedRows pr = batch == 1 || LANES && TokenRows.serves(batch, TOKEN_ROWS_UP_TO) ? pairedCopy() : null;
            if (pr != null) {
                if (LANES) { // each token in turn on a pair's rows while they are in L1 (TokenRows)
                    short[] lanes = a.q4KLanes();
                    int[] pairSumsTwice = a.pairSumsTwice();
                    if (batch > 1) {
                        return (start, end) -> {
                            float[] sums = new float[(batch + 1) / 2 * PairLanes.F.length()];
                            PairedRows.forRows(start, end,
                                    (r, n) -> dotTokens(pr, a, lanes, pairSumsTwice, batch, perToken, rows, r, n, sums, out, outOff));
                        };
                    }
                    return (start, end) -> PairedRows.forRows(start, end, (r, n) -> dotPairedWide(pr, a, lanes, pairSumsTwice, r, n, out, outOff + r));
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
     * {@link #rowDot} with the 16-bit product kernel, as Q4_K's: first every super-block's two integer
     * sums ({@link #scaledSumsWide}), then {@link #blockValue}'s float operations in the same order.
     * Written again here rather than shared through KQuantMatrix: in one shared loop the call to each
     * format's kernel would be a virtual one, which C2 need not inline; the float part after it is
     * shared ({@link #scaledMinusMins}). sums is scratch (2 * cols/256 ints), allocated once per task
     * by {@link #rowsTask}, not per row.
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
     * 256 five-bit weights unpacked to one byte each (element order), and d, dmin as floats: 1.59x
     * the file's bytes, and the kernel assembles no bits (Q6_K's reasoning, {@link Q6_KMatrix}).
     */
    /**
     * At 512 bits the copy's weights are in {@link SubBlockLanes#Q4_K}'s order (32-value sub-blocks,
     * as Q4_K's; one byte a weight here), for {@link #dotPairedWide}; nothing else reads the copy.
     */
    private static final boolean LANES = PairLanes.ENABLED;

    private PairedRows pairedCopy() {
        return paired.get(this::copyPaired);
    }

    private PairedRows copyPaired() {
        return PairedRows.of(data, rows, cols / QK, blockBytes, PAIRED, 2, () -> {
            byte[] block = LANES ? new byte[PAIRED] : null; // element order first; one thread's
            return (o, copy, copyAt, d, dAt) -> {
                byte[] q = LANES ? block : copy;
                int qAt = LANES ? 0 : copyAt;
                copyPairedHead(o, q, qAt, d, dAt);
                // Vector unpacking (pass c: qs[32c + l] and qh[l], l in 16-byte halves, low nibbles with
                // qh bit 2c, high ones with bit 2c+1): a scalar loop per weight made the copy of a
                // TinyLlama-sized file take ~3 s.
                for (int c = 0; c < 4; c++) {
                    for (int l = 0; l < 32; l += 16) {
                        ShortVector v = wideBytes(o + QS + 32 * c + l), hv = wideBytes(o + QH + l);
                        ((ByteVector) v.and((short) 0x0F).or(hv.lanewise(VectorOperators.LSHR, 2 * c).and((short) 1).lanewise(VectorOperators.LSHL, 4))
                                .convertShape(VectorOperators.S2B, BYTES, 0)).intoArray(q, qAt + PAIRED_Q + 64 * c + l);
                        ((ByteVector) v.lanewise(VectorOperators.LSHR, 4).and((short) 0x0F)
                                .or(hv.lanewise(VectorOperators.LSHR, 2 * c + 1).and((short) 1).lanewise(VectorOperators.LSHL, 4))
                                .convertShape(VectorOperators.S2B, BYTES, 0)).intoArray(q, qAt + PAIRED_Q + 64 * c + 32 + l);
                    }
                }
                if (LANES) {
                    System.arraycopy(block, 0, copy, copyAt, PAIRED_Q);
                    SubBlockLanes.toLanes(block, PAIRED_Q, copy, copyAt + PAIRED_Q, SubBlockLanes.Q4_K);
                }
            };
        });
    }

    /**
     * Batches up to 128 run on the paired copy, each row-block widened once for all tokens ({@link
     * #dotTokens}, {@link TokenRows}): Q5_K's token tile decodes a weight at a time and paid only from
     * 64 tokens ({@link KQuantGemm#minBatch}), below which the file-layout kernel ran. One thread, 2048 x
     * 2048: against a batch-1 pass per token 1.13x at 2 tokens, 1.23 at 7; against the file-layout
     * kernel 2.4-3.1x at 8-32; against the tile 1.98 at 64, 1.06-1.29 at 128, 0.88-0.90 at 256.
     */
    static final int TOKEN_ROWS_UP_TO = 128;

    @Override
    int tokenRowsUpTo() {
        return TOKEN_ROWS_UP_TO;
    }

    /**
     * {@link #dotPaired} in 512 bits on the copy's {@link SubBlockLanes} order: a row's 8 vectors of
     * 32 weights (0-31) times the activations in the same order, the 4 even and the 4 odd vectors'
     * products added in 16 bits (at most 4 * 31 * 127 = 15748), each lane pair into an int (sub-block
     * lanes/2), the two sums added, times the scales, summed: {@link #scaledSumsWide}'s integer
     * exactly, then dotPaired's float operations, so the same bits.
     */
    private static void dotPairedWide(PairedRows pr, Q8_KActivations a, short[] lanes, int[] pairSumsTwice, int r, int n,
                                      float[] out, int o) {
        byte[] wq = pr.q;
        float[] wd = pr.d;
        int blocks = pr.blocks;
        int first = 2 * (r >> 1) * blocks + (r & 1);
        // Row 1's offsets repeat row 0's when n == 1: its sums are computed and dropped.
        int second = n == 2 ? PAIRED : 0, secondD = n == 2 ? 2 : 0;
        float sum0 = 0f, sum1 = 0f;
        for (int blk = 0; blk < blocks; blk++) {
            int at = first + 2 * blk, w0 = at * PAIRED, w1 = w0 + second;
            int e = blk * QK;
            ShortVector even0 = ShortVector.zero(PairLanes.S), odd0 = even0, even1 = even0, odd1 = even0;
            for (int j = 0; j < QK; j += 64) {
                ShortVector xe = ShortVector.fromArray(PairLanes.S, lanes, e + j), xo = ShortVector.fromArray(PairLanes.S, lanes, e + j + 32);
                int q0 = w0 + PAIRED_Q + j, q1 = w1 + PAIRED_Q + j;
                even0 = even0.add(((ShortVector) ByteVector.fromArray(PairLanes.B, wq, q0).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0)).mul(xe));
                odd0 = odd0.add(((ShortVector) ByteVector.fromArray(PairLanes.B, wq, q0 + 32).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0)).mul(xo));
                even1 = even1.add(((ShortVector) ByteVector.fromArray(PairLanes.B, wq, q1).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0)).mul(xe));
                odd1 = odd1.add(((ShortVector) ByteVector.fromArray(PairLanes.B, wq, q1 + 32).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0)).mul(xo));
            }
            IntVector e0 = even0.reinterpretAsInts(), f0 = odd0.reinterpretAsInts(), e1 = even1.reinterpretAsInts(), f1 = odd1.reinterpretAsInts();
            // The 8 scale and 8 min bytes of each row, widened: lanes 0-7 scales, 8-15 mins.
            IntVector head0 = (IntVector) ByteVector.fromArray(ByteVector.SPECIES_128, wq, w0)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, PairLanes.I, 0);
            IntVector head1 = (IntVector) ByteVector.fromArray(ByteVector.SPECIES_128, wq, w1)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, PairLanes.I, 0);
            IntVector t0 = e0.add(e0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)
                    .add(f0.add(f0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)).mul(head0.rearrange(SCALE_PAIRS));
            IntVector t1 = e1.add(e1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)
                    .add(f1.add(f1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)).mul(head1.rearrange(SCALE_PAIRS));
            IntVector mins = PairLanes.MINS_OF_BOTH.selectFrom(head0, head1).mul(IntVector.fromArray(PairLanes.I, pairSumsTwice, blk * SUBS));
            // Four exact integer sums by halving: {row 0, row 1} scaled sums, then {row 0, row 1} min sums. As in
            // Q4_KMatrix.dotPairedWide, written out: a helper taking vectors can stay out of line in these loops
            // with its vectors boxed (Q6_KSixBits.dot's note).
            IntVector h = PairLanes.EVEN_LANES.selectFrom(t0, t1).add(PairLanes.ODD_LANES.selectFrom(t0, t1));
            h = PairLanes.EVEN_LANES.selectFrom(h, mins).add(PairLanes.ODD_LANES.selectFrom(h, mins));
            h = PairLanes.EVEN_LANES.selectFrom(h, h).add(PairLanes.ODD_LANES.selectFrom(h, h));
            h = PairLanes.EVEN_LANES.selectFrom(h, h).add(PairLanes.ODD_LANES.selectFrom(h, h));
            int isum0 = h.lane(0), isum1 = h.lane(1), min0 = h.lane(2), min1 = h.lane(3);
            float da = a.d[blk];
            sum0 += da * (wd[2 * at] * isum0 - wd[2 * at + 1] * min0);
            sum1 += da * (wd[2 * at + secondD] * isum1 - wd[2 * at + secondD + 1] * min1);
        }
        out[o] = sum0;
        if (n == 2) {
            out[o + 1] = sum1;
        }
    }

    /**
     * {@link #dotPairedWide} for {@code batch} tokens (token t's activations from super-block t *
     * perToken on) into out[outOff + t*rows + r (+ 1)]: each row-block's 16 weight vectors (both rows)
     * widened once and kept in registers for every token, its scale and min bytes widened once; per
     * token and row the same integers and float operations as dotPairedWide, block after block: the
     * same bits. Tokens in pairs with one vector ending, running sums in {@code sums}, as
     * Q4_KLanes.dotTokens (whose lane orders these are), written out (no helpers).
     */
    private static void dotTokens(PairedRows pr, Q8_KActivations a, short[] lanes, int[] pairSumsTwice, int batch, int perToken,
                                  int rows, int r, int n, float[] sums, float[] out, int outOff) {
        byte[] wq = pr.q;
        float[] wd = pr.d;
        float[] ad = a.d;
        int blocks = pr.blocks, fl = PairLanes.F.length(), pairs = (batch + 1) / 2;
        int first = 2 * (r >> 1) * blocks + (r & 1);
        // Row 1's offsets repeat row 0's when n == 1: its sums are computed and dropped.
        int second = n == 2 ? PAIRED : 0, secondD = n == 2 ? 2 : 0;
        java.util.Arrays.fill(sums, 0, pairs * fl, 0f);
        IntVector zero = IntVector.zero(PairLanes.I);
        for (int blk = 0; blk < blocks; blk++) {
            int at = first + 2 * blk, w0 = at * PAIRED, w1 = w0 + second, q0 = w0 + PAIRED_Q, q1 = w1 + PAIRED_Q;
            ShortVector e00 = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, q0).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            ShortVector o00 = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, q0 + 32).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            ShortVector e01 = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, q0 + 64).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            ShortVector o01 = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, q0 + 96).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            ShortVector e02 = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, q0 + 128).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            ShortVector o02 = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, q0 + 160).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            ShortVector e03 = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, q0 + 192).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            ShortVector o03 = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, q0 + 224).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            ShortVector e10 = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, q1).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            ShortVector o10 = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, q1 + 32).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            ShortVector e11 = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, q1 + 64).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            ShortVector o11 = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, q1 + 96).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            ShortVector e12 = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, q1 + 128).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            ShortVector o12 = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, q1 + 160).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            ShortVector e13 = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, q1 + 192).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            ShortVector o13 = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, q1 + 224).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            IntVector head0 = (IntVector) ByteVector.fromArray(ByteVector.SPECIES_128, wq, w0)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, PairLanes.I, 0);
            IntVector head1 = (IntVector) ByteVector.fromArray(ByteVector.SPECIES_128, wq, w1)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, PairLanes.I, 0);
            IntVector sc0 = head0.rearrange(SCALE_PAIRS), sc1 = head1.rearrange(SCALE_PAIRS);
            IntVector minBytes = PairLanes.MINS_OF_BOTH.selectFrom(head0, head1);
            // d and dmin of both rows in the halved sums' lanes 4b + 2q + row, for both tokens b of a pair.
            FloatVector rowScales = FloatVector.broadcast(PairLanes.F, wd[2 * at]).blend(wd[2 * at + secondD], PairLanes.HALVED_ROW_1)
                    .blend(wd[2 * at + 1], PairLanes.HALVED_MIN_ROW_0).blend(wd[2 * at + secondD + 1], PairLanes.HALVED_MIN_ROW_1);
            for (int tp = 0; tp < pairs; tp++) {
                int tb = 2 * tp * perToken + blk, ub = Math.min(2 * tp + 1, batch - 1) * perToken + blk; // ub == tb: no partner
                IntVector hA, hB = zero; // each token's lanes 8q + 4row + j; an odd batch's last token has no partner
                {
                    int e = tb * QK;
                    ShortVector xe0 = ShortVector.fromArray(PairLanes.S, lanes, e), xo0 = ShortVector.fromArray(PairLanes.S, lanes, e + 32);
                    ShortVector xe1 = ShortVector.fromArray(PairLanes.S, lanes, e + 64), xo1 = ShortVector.fromArray(PairLanes.S, lanes, e + 96);
                    ShortVector xe2 = ShortVector.fromArray(PairLanes.S, lanes, e + 128), xo2 = ShortVector.fromArray(PairLanes.S, lanes, e + 160);
                    ShortVector xe3 = ShortVector.fromArray(PairLanes.S, lanes, e + 192), xo3 = ShortVector.fromArray(PairLanes.S, lanes, e + 224);
                    IntVector ev0 = e00.mul(xe0).add(e01.mul(xe1)).add(e02.mul(xe2)).add(e03.mul(xe3)).reinterpretAsInts();
                    IntVector od0 = o00.mul(xo0).add(o01.mul(xo1)).add(o02.mul(xo2)).add(o03.mul(xo3)).reinterpretAsInts();
                    IntVector ev1 = e10.mul(xe0).add(e11.mul(xe1)).add(e12.mul(xe2)).add(e13.mul(xe3)).reinterpretAsInts();
                    IntVector od1 = o10.mul(xo0).add(o11.mul(xo1)).add(o12.mul(xo2)).add(o13.mul(xo3)).reinterpretAsInts();
                    IntVector t0 = ev0.add(ev0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)
                            .add(od0.add(od0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)).mul(sc0);
                    IntVector t1 = ev1.add(ev1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)
                            .add(od1.add(od1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)).mul(sc1);
                    IntVector mins = minBytes.mul(IntVector.fromArray(PairLanes.I, pairSumsTwice, tb * SUBS));
                    hA = PairLanes.EVEN_LANES.selectFrom(t0, t1).add(PairLanes.ODD_LANES.selectFrom(t0, t1));
                    hA = PairLanes.EVEN_LANES.selectFrom(hA, mins).add(PairLanes.ODD_LANES.selectFrom(hA, mins));
                }
                if (ub != tb) {
                    int e = ub * QK;
                    ShortVector xe0 = ShortVector.fromArray(PairLanes.S, lanes, e), xo0 = ShortVector.fromArray(PairLanes.S, lanes, e + 32);
                    ShortVector xe1 = ShortVector.fromArray(PairLanes.S, lanes, e + 64), xo1 = ShortVector.fromArray(PairLanes.S, lanes, e + 96);
                    ShortVector xe2 = ShortVector.fromArray(PairLanes.S, lanes, e + 128), xo2 = ShortVector.fromArray(PairLanes.S, lanes, e + 160);
                    ShortVector xe3 = ShortVector.fromArray(PairLanes.S, lanes, e + 192), xo3 = ShortVector.fromArray(PairLanes.S, lanes, e + 224);
                    IntVector ev0 = e00.mul(xe0).add(e01.mul(xe1)).add(e02.mul(xe2)).add(e03.mul(xe3)).reinterpretAsInts();
                    IntVector od0 = o00.mul(xo0).add(o01.mul(xo1)).add(o02.mul(xo2)).add(o03.mul(xo3)).reinterpretAsInts();
                    IntVector ev1 = e10.mul(xe0).add(e11.mul(xe1)).add(e12.mul(xe2)).add(e13.mul(xe3)).reinterpretAsInts();
                    IntVector od1 = o10.mul(xo0).add(o11.mul(xo1)).add(o12.mul(xo2)).add(o13.mul(xo3)).reinterpretAsInts();
                    IntVector t0 = ev0.add(ev0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)
                            .add(od0.add(od0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)).mul(sc0);
                    IntVector t1 = ev1.add(ev1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)
                            .add(od1.add(od1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)).mul(sc1);
                    IntVector mins = minBytes.mul(IntVector.fromArray(PairLanes.I, pairSumsTwice, ub * SUBS));
                    hB = PairLanes.EVEN_LANES.selectFrom(t0, t1).add(PairLanes.ODD_LANES.selectFrom(t0, t1));
                    hB = PairLanes.EVEN_LANES.selectFrom(hB, mins).add(PairLanes.ODD_LANES.selectFrom(hB, mins));
                }
                IntVector h = PairLanes.EVEN_LANES.selectFrom(hA, hB).add(PairLanes.ODD_LANES.selectFrom(hA, hB));
                h = PairLanes.EVEN_LANES.selectFrom(h, h).add(PairLanes.ODD_LANES.selectFrom(h, h));
                FloatVector q = ((FloatVector) h.convert(VectorOperators.I2F, 0)).mul(rowScales);
                FloatVector terms = q.sub(q.rearrange(PairLanes.HALVED_MIN_OF_LANE)).mul(FloatVector.broadcast(PairLanes.F, ad[tb]).blend(ad[ub], PairLanes.HALVED_SECOND));
                // The new terms are the receivers (Q4_KLanes.dotBlockPairs' note); float addition commutes exactly.
                terms.add(FloatVector.fromArray(PairLanes.F, sums, tp * fl)).intoArray(sums, tp * fl);
            }
        }
        PairLanes.writeTokenSums(sums, 4, batch, rows, r, n, out, outOff);
    }

    /** Int lane k of a lane-order sum belongs to sub-block k/2: each of the 8 scales twice. */
    private static final VectorShuffle<Integer> SCALE_PAIRS = VectorShuffle.fromOp(PairLanes.I, k -> k / 2);

    /**
     * Rows r .. r+n-1 (n = 1, or 2 with r even, sharing the activation loads) of the paired copy
     * into out[o..o+n): per super-block the two integer sums of {@link #scaledSumsWide} (exact, so
     * the same: a 32-value sub-block's two 16-value halves added in shorts, at most 2 * 31 * 127,
     * then paired) and {@link #scaledMinusMins}'s float operations, per row in the same order, so
     * the same bits. Row 1's offsets repeat row 0's when n == 1: its sums are computed and dropped.
     */
    private static void dotPaired(PairedRows pr, Q8_KActivations a, int r, int n, float[] out, int o) {
        byte[] wq = pr.q;
        float[] wd = pr.d;
        short[] qx = a.qs;
        int blocks = pr.blocks;
        int first = 2 * (r >> 1) * blocks + (r & 1);
        int second = n == 2 ? PAIRED : 0, secondD = n == 2 ? 2 : 0;
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
                // Elements 64c .. 64c+64: sub-blocks 2c and 2c+1 of 32.
                int x = e + 64 * c, q0 = w0 + PAIRED_Q + 64 * c, q1 = w1 + PAIRED_Q + 64 * c;
                ShortVector x0 = ShortVector.fromArray(SHORTS, qx, x), x1 = ShortVector.fromArray(SHORTS, qx, x + 16);
                ShortVector x2 = ShortVector.fromArray(SHORTS, qx, x + 32), x3 = ShortVector.fromArray(SHORTS, qx, x + 48);
                IntVector lo0 = ((ShortVector) ByteVector.fromArray(BYTES, wq, q0).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0)).mul(x0)
                        .add(((ShortVector) ByteVector.fromArray(BYTES, wq, q0 + 16).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0)).mul(x1))
                        .reinterpretAsInts();
                IntVector hi0 = ((ShortVector) ByteVector.fromArray(BYTES, wq, q0 + 32).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0)).mul(x2)
                        .add(((ShortVector) ByteVector.fromArray(BYTES, wq, q0 + 48).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0)).mul(x3))
                        .reinterpretAsInts();
                acc0 = acc0.add(lo0.add(lo0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(wq[w0 + 2 * c]))
                        .add(hi0.add(hi0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(wq[w0 + 2 * c + 1]));
                IntVector lo1 = ((ShortVector) ByteVector.fromArray(BYTES, wq, q1).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0)).mul(x0)
                        .add(((ShortVector) ByteVector.fromArray(BYTES, wq, q1 + 16).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0)).mul(x1))
                        .reinterpretAsInts();
                IntVector hi1 = ((ShortVector) ByteVector.fromArray(BYTES, wq, q1 + 32).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0)).mul(x2)
                        .add(((ShortVector) ByteVector.fromArray(BYTES, wq, q1 + 48).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0)).mul(x3))
                        .reinterpretAsInts();
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

    @Override
    void scales(long o, int[] sc, int[] m) {
        packedScalesAndMins(o + SCALES, sc, m);
    }

    @Override
    void scales(byte[] b, int at, int[] sc, int[] m) {
        packedScalesAndMins(b, at + SCALES, sc, m);
    }

    @Override
    void quants(byte[] b, int at, int[] q) {
        for (int c = 0; c < 4; c++) { // qs byte l of run c: elements 64c + l (low nibble) and 64c + 32 + l (high); qh byte l bits 2c, 2c + 1
            for (int l = 0; l < 32; l++) {
                int v = b[at + QS + 32 * c + l] & 0xFF, h = (b[at + QH + l] & 0xFF) >>> (2 * c);
                q[64 * c + l] = (v & 0x0F) | (h & 1) << 4;
                q[64 * c + 32 + l] = (v >>> 4) | (h & 2) << 3;
            }
        }
    }

    @Override
    int twinDot(byte[] b, int at, int[] sc, int[] qx, int x, int[] bsums, int bs) {
        int isum = 0;
        for (int c = 0; c < 4; c++) { // low nibbles and qh bit 2c: sub-block 2c (sc[4c]); high nibbles and bit 2c + 1: 2c + 1
            int low = 0, high = 0, w = at + QS + 32 * c, e = x + 64 * c;
            for (int l = 0; l < 32; l++) {
                int v = b[w + l] & 0xFF, h = (b[at + QH + l] & 0xFF) >>> (2 * c);
                low += ((v & 0x0F) | (h & 1) << 4) * qx[e + l];
                high += ((v >>> 4) | (h & 2) << 3) * qx[e + 32 + l];
            }
            isum += sc[4 * c] * low + sc[4 * c + 2] * high;
        }
        return isum;
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

    /** {@link #scaledSum} in 16-bit products for the block at o (tests). */
    int scaledSumWide(long o, short[] qx, int qxOff) {
        int[] sums = new int[2];
        scaledSumsWide(o, 1, qx, qxOff, new int[SUBS / 2], 0, sums);
        return sums[0];
    }

    /**
     * For each of {@code blocks} super-blocks from byte offset base: its {@link #scaledSum} into
     * sums[2*blk] and its {@link #minSum} into sums[2*blk + 1], in 16-bit products, as Q4_K's
     * ({@link Q4_KMatrix#scaledSumsWide}, which says why it is written with Vector API calls only and
     * the passes written out) with the fifth bit: q in [0, 31], so the two halves of a 32-value
     * sub-block (at most 2 * 31 * 127) are added in shorts before pairing. qh's two 16-byte halves
     * are loaded once per super-block; sub-block s takes bit s of each byte, moved to bit 4 by one
     * constant shift, on int lanes (C2 gives short-lane shifts a count register, a move per shift; a
     * bit crossing into the neighbouring short lands outside the mask 0x10, as the bytes are
     * zero-extended). The former loop reloaded qh and shifted by a variable count per sub-block.
     */
    void scaledSumsWide(long base, int blocks, short[] qx, int qxOff0, int[] pairSums, int pOff0, int[] sums) {
        ShortVector nibble = ShortVector.broadcast(SHORTS, (short) 0x0F), five = ShortVector.broadcast(SHORTS, (short) 0x10);
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * blockBytes;
            int e = qxOff0 + blk * QK;
            long head = head(o), packed = packed(o);
            long sc = packedScales(head, packed);
            // Before the vector code: parsed after it, these plain calls met the inlining cutoff.
            sums[2 * blk + 1] = packedMinSumWide(packedMins(packed), pairSums, pOff0 + blk * (SUBS / 2));
            ShortVector h0 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, o + QH, Vec.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
            ShortVector h1 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, o + QH + 16, Vec.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
            IntVector acc = IntVector.zero(PAIRS);
            // Pass c: qs[32c..32c+32), elements 64c + l (low nibbles, sub-block 2c, qh bit 2c) and
            // 64c + 32 + l (high nibbles, 2c+1, qh bit 2c+1); pairs as IntDot.pairsNarrow, written out.
            ShortVector b00 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, o + QS, Vec.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
            ShortVector b10 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, o + QS + 16, Vec.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
            IntVector lo0 = b00.and(nibble).or(h0.reinterpretAsInts().lanewise(VectorOperators.LSHL, 4).reinterpretAsShorts().and(five)).mul(ShortVector.fromArray(SHORTS, qx, e))
                    .add(b10.and(nibble).or(h1.reinterpretAsInts().lanewise(VectorOperators.LSHL, 4).reinterpretAsShorts().and(five)).mul(ShortVector.fromArray(SHORTS, qx, e + 16))).reinterpretAsInts();
            IntVector hi0 = b00.lanewise(VectorOperators.LSHR, 4).or(h0.reinterpretAsInts().lanewise(VectorOperators.LSHL, 3).reinterpretAsShorts().and(five)).mul(ShortVector.fromArray(SHORTS, qx, e + 32))
                    .add(b10.lanewise(VectorOperators.LSHR, 4).or(h1.reinterpretAsInts().lanewise(VectorOperators.LSHL, 3).reinterpretAsShorts().and(five)).mul(ShortVector.fromArray(SHORTS, qx, e + 48))).reinterpretAsInts();
            acc = acc.add(lo0.add(lo0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul((int) sc & 0xFF))
                    .add(hi0.add(hi0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul((int) (sc >>> 8) & 0xFF));
            ShortVector b01 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, o + QS + 32, Vec.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
            ShortVector b11 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, o + QS + 48, Vec.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
            IntVector lo1 = b01.and(nibble).or(h0.reinterpretAsInts().lanewise(VectorOperators.LSHL, 2).reinterpretAsShorts().and(five)).mul(ShortVector.fromArray(SHORTS, qx, e + 64))
                    .add(b11.and(nibble).or(h1.reinterpretAsInts().lanewise(VectorOperators.LSHL, 2).reinterpretAsShorts().and(five)).mul(ShortVector.fromArray(SHORTS, qx, e + 80))).reinterpretAsInts();
            IntVector hi1 = b01.lanewise(VectorOperators.LSHR, 4).or(h0.reinterpretAsInts().lanewise(VectorOperators.LSHL, 1).reinterpretAsShorts().and(five)).mul(ShortVector.fromArray(SHORTS, qx, e + 96))
                    .add(b11.lanewise(VectorOperators.LSHR, 4).or(h1.reinterpretAsInts().lanewise(VectorOperators.LSHL, 1).reinterpretAsShorts().and(five)).mul(ShortVector.fromArray(SHORTS, qx, e + 112))).reinterpretAsInts();
            acc = acc.add(lo1.add(lo1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul((int) (sc >>> 16) & 0xFF))
                    .add(hi1.add(hi1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul((int) (sc >>> 24) & 0xFF));
            ShortVector b02 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, o + QS + 64, Vec.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
            ShortVector b12 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, o + QS + 80, Vec.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
            IntVector lo2 = b02.and(nibble).or(h0.and(five)).mul(ShortVector.fromArray(SHORTS, qx, e + 128))
                    .add(b12.and(nibble).or(h1.and(five)).mul(ShortVector.fromArray(SHORTS, qx, e + 144))).reinterpretAsInts();
            IntVector hi2 = b02.lanewise(VectorOperators.LSHR, 4).or(h0.reinterpretAsInts().lanewise(VectorOperators.LSHR, 1).reinterpretAsShorts().and(five)).mul(ShortVector.fromArray(SHORTS, qx, e + 160))
                    .add(b12.lanewise(VectorOperators.LSHR, 4).or(h1.reinterpretAsInts().lanewise(VectorOperators.LSHR, 1).reinterpretAsShorts().and(five)).mul(ShortVector.fromArray(SHORTS, qx, e + 176))).reinterpretAsInts();
            acc = acc.add(lo2.add(lo2.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul((int) (sc >>> 32) & 0xFF))
                    .add(hi2.add(hi2.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul((int) (sc >>> 40) & 0xFF));
            ShortVector b03 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, o + QS + 96, Vec.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
            ShortVector b13 = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, o + QS + 112, Vec.LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
            IntVector lo3 = b03.and(nibble).or(h0.reinterpretAsInts().lanewise(VectorOperators.LSHR, 2).reinterpretAsShorts().and(five)).mul(ShortVector.fromArray(SHORTS, qx, e + 192))
                    .add(b13.and(nibble).or(h1.reinterpretAsInts().lanewise(VectorOperators.LSHR, 2).reinterpretAsShorts().and(five)).mul(ShortVector.fromArray(SHORTS, qx, e + 208))).reinterpretAsInts();
            IntVector hi3 = b03.lanewise(VectorOperators.LSHR, 4).or(h0.reinterpretAsInts().lanewise(VectorOperators.LSHR, 3).reinterpretAsShorts().and(five)).mul(ShortVector.fromArray(SHORTS, qx, e + 224))
                    .add(b13.lanewise(VectorOperators.LSHR, 4).or(h1.reinterpretAsInts().lanewise(VectorOperators.LSHR, 3).reinterpretAsShorts().and(five)).mul(ShortVector.fromArray(SHORTS, qx, e + 240))).reinterpretAsInts();
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
        return 1953; // q <= 31, sc <= 63
    }

    @Override
    float dequantized(long o, int e, int[] sc, int[] m) {
        return half(o) * sc[e >>> 4] * quant(o, e) - half(o + 2) * m[e >>> 4];
    }
}
