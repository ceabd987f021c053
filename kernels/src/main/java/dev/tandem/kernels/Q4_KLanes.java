package dev.tandem.kernels;

import static dev.tandem.kernels.KQuantMatrix.QK;
import static dev.tandem.kernels.KQuantMatrix.SUBS;
import static dev.tandem.kernels.Q4_KMatrix.PAIRED;
import static dev.tandem.kernels.Q4_KMatrix.PAIRED_QS;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

/**
 * Q4_K's 512-bit kernels on its paired copy ({@link PairLanes#ENABLED}): each row-block the 8 scale
 * and 8 min bytes, then the 128 nibble bytes in {@link SubBlockLanes#Q4_K}'s order (pass c: byte i's
 * low nibble against activation lane 64c + i, its high nibble against 64c + 32 + i), the activations
 * in the same order ({@link Q8_KActivations#q4KLanes}). Every kernel forms {@link
 * Q4_KMatrix#scaledSumsWide}'s integers and then its float operations per row and block in the same
 * order, so all give the scalar rowDot's bits. Vector API calls only, written out: a helper taking
 * vectors can stay out of line in these loops with its vectors boxed ({@link Q6_KSixBits#dot}'s note).
 */
final class Q4_KLanes {
    private Q4_KLanes() {}

    /**
     * out[outOff + t*rows + r] for the rows of a range and the batch's tokens: batch 1 two blocks a step
     * ({@link #dotBlockPairs}; a short odd row, stories110M's 3 blocks, one at a time, where the wasted
     * block of an odd last step cost 5-8 %), small batches ({@link TokenRows}) by {@link #dotTokens}.
     */
    static Parallel.RangeBody rowsTask(PairedRows pr, Q8_KActivations a, int batch, int perToken, int rows, float[] out, int outOff) {
        int[] pairSumsTwice = a.pairSumsTwice();
        if (batch > 1) {
            short[] lanes = a.q4KLanes();
            return (start, end) -> {
                float[] sums = new float[(batch + 1) / 2 * PairLanes.F.length()];
                PairedRows.forRows(start, end,
                        (r, n) -> dotTokens(pr, a, lanes, pairSumsTwice, batch, perToken, rows, r, n, sums, out, outOff));
            };
        }
        short[] lanes = a.q4KFoldedLanes();
        boolean pairSteps = perToken % 2 == 0 || perToken > 8;
        return (start, end) -> PairedRows.forRows(start, end, (r, n) -> {
            if (n == 2 && pairSteps) {
                dotBlockPairs(pr, a, lanes, pairSumsTwice, r, out, outOff + r);
            } else {
                dotPairedWide(pr, a, lanes, pairSumsTwice, r, n, out, outOff + r);
            }
        });
    }

    /**
     * {@link Q4_KMatrix}'s dotPaired in 512 bits on the copy's {@link SubBlockLanes} order: per super-block the
     * four 32-byte runs of a row as shorts, their low and high nibbles times the activations in the
     * same order, all 8 products of a lane added in 16 bits (at most 8 * 15 * 127), each lane pair
     * added into an int (sub-block lanes/2), times the scales, summed: {@link Q4_KMatrix#scaledSumsWide}'s
     * integer exactly, then the same float operations as dotPaired, so the same bits. In element
     * order each 32 products took their own widening and scale multiply (~1.6x the instructions).
     * The low nibbles are not masked out: the whole byte times xl plus the high nibble times the
     * folded activations ({@link Q8_KActivations#q4KFoldedLanes}) is the same integer, one operation
     * fewer per 64 weights (kernels-ab one thread, 2048 x 2048 and 5632 x 2048: 1.05-1.07).
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
            ShortVector s0 = ShortVector.zero(PairLanes.S), s1 = s0;
            for (int c = 0; c < 4; c++) {
                ShortVector xl = ShortVector.fromArray(PairLanes.S, lanes, e + 64 * c);
                ShortVector xh = ShortVector.fromArray(PairLanes.S, lanes, e + 64 * c + 32);
                ShortVector b0 = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, w0 + PAIRED_QS + 32 * c)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
                ShortVector b1 = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, w1 + PAIRED_QS + 32 * c)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
                s0 = s0.add(b0.mul(xl)).add(b0.lanewise(VectorOperators.LSHR, 4).mul(xh));
                s1 = s1.add(b1.mul(xl)).add(b1.lanewise(VectorOperators.LSHR, 4).mul(xh));
            }
            IntVector v0 = s0.reinterpretAsInts(), v1 = s1.reinterpretAsInts();
            // The 8 scale and 8 min bytes of each row, widened: lanes 0-7 scales, 8-15 mins.
            IntVector head0 = (IntVector) ByteVector.fromArray(ByteVector.SPECIES_128, wq, w0)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, PairLanes.I, 0);
            IntVector head1 = (IntVector) ByteVector.fromArray(ByteVector.SPECIES_128, wq, w1)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, PairLanes.I, 0);
            IntVector p0 = v0.add(v0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            IntVector p1 = v1.add(v1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            IntVector mins = PairLanes.MINS_OF_BOTH.selectFrom(head0, head1).mul(IntVector.fromArray(PairLanes.I, pairSumsTwice, blk * SUBS));
            // Four exact integer sums by halving: {row 0, row 1} scaled sums (scaled once halved to a lane per
            // sub-block, as in dotBlockPairs), then {row 0, row 1} min sums.
            IntVector h = PairLanes.EVEN_LANES.selectFrom(p0, p1).add(PairLanes.ODD_LANES.selectFrom(p0, p1))
                    .mul(PairLanes.SCALES_OF_BOTH.selectFrom(head0, head1));
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
     * {@link #dotPairedWide} of a row pair (r even), two blocks a step, into out[o], out[o + 1]. The
     * per-block integer vectors are formed as there; the two blocks' four sums each are then halved
     * together (two steps for both blocks, not four for each), and the float operations da * (d * isum
     * - dmin * min) run in lanes 0-7 of one vector for both rows and both blocks, added to the rows'
     * sums block after block: dotPairedWide's values and order, so the same bits. Lane 4b + 2q + row
     * (b: block of the step, q: 0 the scaled sum, 1 the min sum). Per block dotPairedWide's ending
     * takes four lane extractions and ten scalar float operations; without any ending its loop ran
     * 1.79x as fast.
     */
    private static void dotBlockPairs(PairedRows pr, Q8_KActivations a, short[] lanes, int[] pairSumsTwice, int r,
                                      float[] out, int o) {
        byte[] wq = pr.q;
        float[] wd = pr.d;
        int blocks = pr.blocks;
        int first = 2 * (r >> 1) * blocks;
        FloatVector sums = FloatVector.zero(PairLanes.F); // lane 0 row 0's sum, lane 1 row 1's
        for (int blk = 0; blk < blocks; blk += 2) {
            // An odd last block is its step's both blocks, the second's terms then +0: adding +0 to a sum
            // that started at +0 leaves its bits.
            int next = blk + 1 < blocks ? 1 : 0;
            int at = first + 2 * blk, w0 = at * PAIRED, w1 = w0 + PAIRED, w2 = w0 + 2 * next * PAIRED, w3 = w2 + PAIRED;
            int e = blk * QK, f = e + next * QK;
            ShortVector s0 = ShortVector.zero(PairLanes.S), s1 = s0, s2 = s0, s3 = s0;
            for (int c = 0; c < 4; c++) {
                ShortVector xl = ShortVector.fromArray(PairLanes.S, lanes, e + 64 * c);
                ShortVector xh = ShortVector.fromArray(PairLanes.S, lanes, e + 64 * c + 32);
                ShortVector b0 = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, w0 + PAIRED_QS + 32 * c)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
                ShortVector b1 = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, w1 + PAIRED_QS + 32 * c)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
                s0 = s0.add(b0.mul(xl)).add(b0.lanewise(VectorOperators.LSHR, 4).mul(xh));
                s1 = s1.add(b1.mul(xl)).add(b1.lanewise(VectorOperators.LSHR, 4).mul(xh));
                ShortVector yl = ShortVector.fromArray(PairLanes.S, lanes, f + 64 * c);
                ShortVector yh = ShortVector.fromArray(PairLanes.S, lanes, f + 64 * c + 32);
                ShortVector b2 = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, w2 + PAIRED_QS + 32 * c)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
                ShortVector b3 = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, w3 + PAIRED_QS + 32 * c)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
                s2 = s2.add(b2.mul(yl)).add(b2.lanewise(VectorOperators.LSHR, 4).mul(yh));
                s3 = s3.add(b3.mul(yl)).add(b3.lanewise(VectorOperators.LSHR, 4).mul(yh));
            }
            IntVector v0 = s0.reinterpretAsInts(), v1 = s1.reinterpretAsInts(), v2 = s2.reinterpretAsInts(), v3 = s3.reinterpretAsInts();
            IntVector head0 = (IntVector) ByteVector.fromArray(ByteVector.SPECIES_128, wq, w0)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, PairLanes.I, 0);
            IntVector head1 = (IntVector) ByteVector.fromArray(ByteVector.SPECIES_128, wq, w1)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, PairLanes.I, 0);
            IntVector head2 = (IntVector) ByteVector.fromArray(ByteVector.SPECIES_128, wq, w2)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, PairLanes.I, 0);
            IntVector head3 = (IntVector) ByteVector.fromArray(ByteVector.SPECIES_128, wq, w3)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, PairLanes.I, 0);
            // Int lanes 2s and 2s + 1 of each row's pair sums belong to sub-block s: halved first (lane s of row
            // 0, 8 + s of row 1), they take each row's 8 scales in one multiply for both rows.
            IntVector p0 = v0.add(v0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            IntVector p1 = v1.add(v1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            IntVector p2 = v2.add(v2.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            IntVector p3 = v3.add(v3.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            IntVector minsA = PairLanes.MINS_OF_BOTH.selectFrom(head0, head1).mul(IntVector.fromArray(PairLanes.I, pairSumsTwice, blk * SUBS));
            IntVector minsB = PairLanes.MINS_OF_BOTH.selectFrom(head2, head3).mul(IntVector.fromArray(PairLanes.I, pairSumsTwice, (blk + next) * SUBS));
            // Each block: lane 8q + 4row + j (four partial sums j); then both blocks: lane 4b + 2q + row.
            IntVector hA = PairLanes.EVEN_LANES.selectFrom(p0, p1).add(PairLanes.ODD_LANES.selectFrom(p0, p1))
                    .mul(PairLanes.SCALES_OF_BOTH.selectFrom(head0, head1));
            hA = PairLanes.EVEN_LANES.selectFrom(hA, minsA).add(PairLanes.ODD_LANES.selectFrom(hA, minsA));
            IntVector hB = PairLanes.EVEN_LANES.selectFrom(p2, p3).add(PairLanes.ODD_LANES.selectFrom(p2, p3))
                    .mul(PairLanes.SCALES_OF_BOTH.selectFrom(head2, head3));
            hB = PairLanes.EVEN_LANES.selectFrom(hB, minsB).add(PairLanes.ODD_LANES.selectFrom(hB, minsB));
            IntVector h = PairLanes.EVEN_LANES.selectFrom(hA, hB).add(PairLanes.ODD_LANES.selectFrom(hA, hB));
            h = PairLanes.EVEN_LANES.selectFrom(h, h).add(PairLanes.ODD_LANES.selectFrom(h, h));
            FloatVector p = ((FloatVector) h.convert(VectorOperators.I2F, 0))
                    .mul(FloatVector.fromArray(PairLanes.F, wd, 2 * at, next == 1 ? STEP_FLOATS : FIRST_BLOCK).rearrange(ROW_Q_SWAPPED));
            FloatVector terms = p.sub(p.rearrange(PairLanes.HALVED_MIN_OF_LANE)).mul(FloatVector.broadcast(PairLanes.F, a.d[blk])
                    .blend(a.d[blk + next], PairLanes.HALVED_SECOND));
            // The new terms are the receivers: a loop-carried receiver is not of an exact class to C2, whose
            // virtual call boxed the sums every step (0.5x). Float addition commutes exactly.
            sums = terms.rearrange(SECOND_BLOCK_DOWN).add(terms.add(sums));
        }
        out[o] = sums.lane(0);
        out[o + 1] = sums.lane(1);
    }

    /** The copy's floats of two row-blocks pairs (lane 4b + 2row + q) in {@link #dotBlockPairs}' lane order 4b + 2q + row. */
    private static final VectorShuffle<Float> ROW_Q_SWAPPED = VectorShuffle.fromOp(
            PairLanes.F, k -> (k & 12) | (k & 1) << 1 | (k >> 1) & 1);
    /** Lanes 4-7 down to 0-3: the step's second block after its first. */
    private static final VectorShuffle<Float> SECOND_BLOCK_DOWN =
            VectorShuffle.fromOp(PairLanes.F, k -> (k + 4) & 15);
    /** The 4 floats of a step's first row-block pair (an odd last block: the second block's are +0). */
    private static final VectorMask<Float> FIRST_BLOCK =
            VectorMask.fromLong(PairLanes.F, 0x0FL);
    /** The 8 floats of a step's two row-block pairs. */
    private static final VectorMask<Float> STEP_FLOATS =
            VectorMask.fromLong(PairLanes.F, 0xFFL);

    /**
     * {@link #dotPairedWide} for {@code batch} tokens (token t's activations from super-block t *
     * perToken on) into out[outOff + t*rows + r (+ 1)]: each row-block's nibbles are widened and split
     * once, kept in registers (16 vectors for the two rows) for every token, and its scale and min
     * bytes widened once; per token and row the same integers and float operations as dotPairedWide,
     * block after block: the same bits. Tokens go in pairs (an odd last one paired with itself, its
     * copy dropped), whose four sums each are halved together and whose float operations run in one
     * vector, as {@link #dotBlockPairs} does for two blocks; each pair's running sums (lane 4b + row,
     * b the token of the pair) stay in {@code sums}, (batch + 1) / 2 vectors, until the last block.
     */
    static void dotTokens(PairedRows pr, Q8_KActivations a, short[] lanes, int[] pairSumsTwice, int batch, int perToken, int rows,
                          int r, int n, float[] sums, float[] out, int outOff) {
        byte[] wq = pr.q;
        float[] wd = pr.d;
        float[] ad = a.d;
        int blocks = pr.blocks, fl = PairLanes.F.length(), pairs = (batch + 1) / 2;
        int first = 2 * (r >> 1) * blocks + (r & 1);
        // Row 1's offsets repeat row 0's when n == 1: its sums are computed and dropped.
        int second = n == 2 ? PAIRED : 0, secondD = n == 2 ? 2 : 0;
        ShortVector nibble = ShortVector.broadcast(PairLanes.S, (short) 0x0F);
        java.util.Arrays.fill(sums, 0, pairs * fl, 0f);
        IntVector zero = IntVector.zero(PairLanes.I);
        for (int blk = 0; blk < blocks; blk++) {
            int at = first + 2 * blk, w0 = at * PAIRED + PAIRED_QS, w1 = w0 + second;
            ShortVector b = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, w0).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            ShortVector l00 = b.and(nibble), h00 = b.lanewise(VectorOperators.LSHR, 4);
            b = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, w0 + 32).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            ShortVector l01 = b.and(nibble), h01 = b.lanewise(VectorOperators.LSHR, 4);
            b = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, w0 + 64).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            ShortVector l02 = b.and(nibble), h02 = b.lanewise(VectorOperators.LSHR, 4);
            b = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, w0 + 96).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            ShortVector l03 = b.and(nibble), h03 = b.lanewise(VectorOperators.LSHR, 4);
            b = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, w1).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            ShortVector l10 = b.and(nibble), h10 = b.lanewise(VectorOperators.LSHR, 4);
            b = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, w1 + 32).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            ShortVector l11 = b.and(nibble), h11 = b.lanewise(VectorOperators.LSHR, 4);
            b = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, w1 + 64).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            ShortVector l12 = b.and(nibble), h12 = b.lanewise(VectorOperators.LSHR, 4);
            b = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, w1 + 96).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
            ShortVector l13 = b.and(nibble), h13 = b.lanewise(VectorOperators.LSHR, 4);
            // The 8 scale and 8 min bytes of each row, widened: lanes 0-7 scales, 8-15 mins.
            IntVector head0 = (IntVector) ByteVector.fromArray(ByteVector.SPECIES_128, wq, w0 - PAIRED_QS)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, PairLanes.I, 0);
            IntVector head1 = (IntVector) ByteVector.fromArray(ByteVector.SPECIES_128, wq, w1 - PAIRED_QS)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, PairLanes.I, 0);
            IntVector scales = PairLanes.SCALES_OF_BOTH.selectFrom(head0, head1);
            IntVector minBytes = PairLanes.MINS_OF_BOTH.selectFrom(head0, head1);
            // d and dmin of both rows in the halved sums' lanes 4b + 2q + row, for both tokens b.
            FloatVector rowScales = FloatVector.broadcast(PairLanes.F, wd[2 * at]).blend(wd[2 * at + secondD], PairLanes.HALVED_ROW_1)
                    .blend(wd[2 * at + 1], PairLanes.HALVED_MIN_ROW_0).blend(wd[2 * at + secondD + 1], PairLanes.HALVED_MIN_ROW_1);
            for (int tp = 0; tp < pairs; tp++) {
                int tb = 2 * tp * perToken + blk, ub = Math.min(2 * tp + 1, batch - 1) * perToken + blk; // ub == tb: no partner
                int e = tb * QK, f = ub * QK;
                ShortVector xl0 = ShortVector.fromArray(PairLanes.S, lanes, e), xh0 = ShortVector.fromArray(PairLanes.S, lanes, e + 32);
                ShortVector xl1 = ShortVector.fromArray(PairLanes.S, lanes, e + 64), xh1 = ShortVector.fromArray(PairLanes.S, lanes, e + 96);
                ShortVector xl2 = ShortVector.fromArray(PairLanes.S, lanes, e + 128), xh2 = ShortVector.fromArray(PairLanes.S, lanes, e + 160);
                ShortVector xl3 = ShortVector.fromArray(PairLanes.S, lanes, e + 192), xh3 = ShortVector.fromArray(PairLanes.S, lanes, e + 224);
                IntVector v0 = l00.mul(xl0).add(h00.mul(xh0)).add(l01.mul(xl1)).add(h01.mul(xh1))
                        .add(l02.mul(xl2)).add(h02.mul(xh2)).add(l03.mul(xl3)).add(h03.mul(xh3)).reinterpretAsInts();
                IntVector v1 = l10.mul(xl0).add(h10.mul(xh0)).add(l11.mul(xl1)).add(h11.mul(xh1))
                        .add(l12.mul(xl2)).add(h12.mul(xh2)).add(l13.mul(xl3)).add(h13.mul(xh3)).reinterpretAsInts();
                // Token 2tp's four sums halved before token 2tp + 1's products: fewer vectors live at once.
                IntVector p0 = v0.add(v0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                IntVector p1 = v1.add(v1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                IntVector minsA = minBytes.mul(IntVector.fromArray(PairLanes.I, pairSumsTwice, tb * SUBS));
                IntVector hA = PairLanes.EVEN_LANES.selectFrom(p0, p1).add(PairLanes.ODD_LANES.selectFrom(p0, p1)).mul(scales);
                hA = PairLanes.EVEN_LANES.selectFrom(hA, minsA).add(PairLanes.ODD_LANES.selectFrom(hA, minsA));
                // An odd batch's last token has no partner: its pair's second sums stay 0 (lanes never read).
                IntVector hB = zero;
                if (ub != tb) {
                    xl0 = ShortVector.fromArray(PairLanes.S, lanes, f);
                    xh0 = ShortVector.fromArray(PairLanes.S, lanes, f + 32);
                    xl1 = ShortVector.fromArray(PairLanes.S, lanes, f + 64);
                    xh1 = ShortVector.fromArray(PairLanes.S, lanes, f + 96);
                    xl2 = ShortVector.fromArray(PairLanes.S, lanes, f + 128);
                    xh2 = ShortVector.fromArray(PairLanes.S, lanes, f + 160);
                    xl3 = ShortVector.fromArray(PairLanes.S, lanes, f + 192);
                    xh3 = ShortVector.fromArray(PairLanes.S, lanes, f + 224);
                    IntVector v2 = l00.mul(xl0).add(h00.mul(xh0)).add(l01.mul(xl1)).add(h01.mul(xh1))
                            .add(l02.mul(xl2)).add(h02.mul(xh2)).add(l03.mul(xl3)).add(h03.mul(xh3)).reinterpretAsInts();
                    IntVector v3 = l10.mul(xl0).add(h10.mul(xh0)).add(l11.mul(xl1)).add(h11.mul(xh1))
                            .add(l12.mul(xl2)).add(h12.mul(xh2)).add(l13.mul(xl3)).add(h13.mul(xh3)).reinterpretAsInts();
                    IntVector p2 = v2.add(v2.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                    IntVector p3 = v3.add(v3.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                    IntVector minsB = minBytes.mul(IntVector.fromArray(PairLanes.I, pairSumsTwice, ub * SUBS));
                    hB = PairLanes.EVEN_LANES.selectFrom(p2, p3).add(PairLanes.ODD_LANES.selectFrom(p2, p3)).mul(scales);
                    hB = PairLanes.EVEN_LANES.selectFrom(hB, minsB).add(PairLanes.ODD_LANES.selectFrom(hB, minsB));
                }
                IntVector h = PairLanes.EVEN_LANES.selectFrom(hA, hB).add(PairLanes.ODD_LANES.selectFrom(hA, hB));
                h = PairLanes.EVEN_LANES.selectFrom(h, h).add(PairLanes.ODD_LANES.selectFrom(h, h));
                FloatVector q = ((FloatVector) h.convert(VectorOperators.I2F, 0)).mul(rowScales);
                FloatVector terms = q.sub(q.rearrange(PairLanes.HALVED_MIN_OF_LANE)).mul(FloatVector.broadcast(PairLanes.F, ad[tb]).blend(ad[ub], PairLanes.HALVED_SECOND));
                // The new terms are the receivers (see dotBlockPairs); float addition commutes exactly.
                terms.add(FloatVector.fromArray(PairLanes.F, sums, tp * fl)).intoArray(sums, tp * fl);
            }
        }
        PairLanes.writeTokenSums(sums, 4, batch, rows, r, n, out, outOff);
    }
}
