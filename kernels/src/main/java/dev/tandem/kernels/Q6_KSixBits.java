package dev.tandem.kernels;

import static dev.tandem.kernels.KQuantMatrix.QK;
import static dev.tandem.kernels.KQuantMatrix.SUBS;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q6_K's 512-bit paired copy in six bits a weight, and the batch-1 kernel on it ({@link
 * PairLanes#ENABLED}). A row-block holds the super-block's 256 weights in {@link SubBlockLanes#Q6_K}'s
 * lane order, as V_0 .. V_7 (32 bytes each, q - 32; even vectors V_0, V_2, V_4, V_6 hold sub-blocks
 * 0-7, odd ones 8-15), packed as u = q + 32 in [0, 63]: with W_k the 64 bytes that interleave V_2k
 * and V_2k+1 (byte 2i = lane i of V_2k, byte 2i+1 = lane i of V_2k+1), bytes 0-63 hold the low
 * nibbles of W_0 | W_1 &lt;&lt; 4, bytes 64-127 those of W_2 | W_3 &lt;&lt; 4, bytes 128-191 the two
 * high bits of W_k at bits 2k, 2k+1; then the 16 scale bytes. 208 bytes against the 272 of a copy
 * in bytes, and 210 in the file.
 *
 * <p>Why: the byte copy made batch-1 decode read 1.31x the file's bytes, and on two threads the kernel
 * waited on memory (TinyLlama Q6_K at 0.72x llama.cpp's tg). Rebuilding the bytes costs ~30 vector
 * operations a row-block, done on 64 bytes at a time (int-lane shifts and byte masks), the bytes
 * widened to shorts by a mask and a shift rather than a widening per 32; docs/benchmarks.md, "Q6_K
 * decode from six bits", has the figures.
 */
final class Q6_KSixBits {
    private Q6_KSixBits() {}

    /** A row-block: 192 bytes of weights, then the 16 scales. */
    static final int PAYLOAD = 192 + SUBS;
    /** Where a row-block's scales start. */
    static final int SCALES_AT = 192;

    private static final VectorSpecies<Byte> WIDE_BYTES = ByteVector.SPECIES_512;

    /** The 256 lane-order weights lanes[from..from+256) (each q - 32, in [-32, 31]) packed into q[at..at+192). */
    static void pack(byte[] lanes, int from, byte[] q, int at) {
        IntVector w0 = interleaved(lanes, from), w1 = interleaved(lanes, from + 64);
        IntVector w2 = interleaved(lanes, from + 128), w3 = interleaved(lanes, from + 192);
        w0.and(0x0F0F0F0F).or(w1.and(0x0F0F0F0F).lanewise(VectorOperators.LSHL, 4)).reinterpretAsBytes().intoArray(q, at);
        w2.and(0x0F0F0F0F).or(w3.and(0x0F0F0F0F).lanewise(VectorOperators.LSHL, 4)).reinterpretAsBytes().intoArray(q, at + 64);
        w0.lanewise(VectorOperators.LSHR, 4).and(0x03030303)
                .or(w1.lanewise(VectorOperators.LSHR, 4).and(0x03030303).lanewise(VectorOperators.LSHL, 2))
                .or(w2.lanewise(VectorOperators.LSHR, 4).and(0x03030303).lanewise(VectorOperators.LSHL, 4))
                .or(w3.lanewise(VectorOperators.LSHR, 4).and(0x03030303).lanewise(VectorOperators.LSHL, 6))
                .reinterpretAsBytes().intoArray(q, at + 128);
    }

    /** W_k for V_2k at lanes[from..from+32) and V_2k+1 after it: u = q + 32 as interleaved bytes, on int lanes. */
    private static IntVector interleaved(byte[] lanes, int from) {
        ShortVector even = ((ShortVector) ByteVector.fromArray(PairLanes.B, lanes, from).convertShape(VectorOperators.B2S, PairLanes.S, 0)).add((short) 32);
        ShortVector odd = ((ShortVector) ByteVector.fromArray(PairLanes.B, lanes, from + 32).convertShape(VectorOperators.B2S, PairLanes.S, 0)).add((short) 32);
        return even.or(odd.lanewise(VectorOperators.LSHL, 8)).reinterpretAsInts();
    }

    /** {@link #pack}'s inverse: the row-block's weights at q[from..] back to lanes[at..at+256) as q - 32. */
    static void unpack(byte[] q, int from, byte[] lanes, int at) {
        IntVector n0 = ByteVector.fromArray(WIDE_BYTES, q, from).reinterpretAsInts(), n1 = ByteVector.fromArray(WIDE_BYTES, q, from + 64).reinterpretAsInts();
        IntVector h = ByteVector.fromArray(WIDE_BYTES, q, from + 128).reinterpretAsInts();
        split(n0.and(0x0F0F0F0F).or(h.lanewise(VectorOperators.LSHL, 4).and(0x30303030)), lanes, at);
        split(n0.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(h.lanewise(VectorOperators.LSHL, 2).and(0x30303030)), lanes, at + 64);
        split(n1.and(0x0F0F0F0F).or(h.and(0x30303030)), lanes, at + 128);
        split(n1.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(h.lanewise(VectorOperators.LSHR, 2).and(0x30303030)), lanes, at + 192);
    }

    /** W_k's even bytes to lanes[at..at+32) and its odd ones after them, less 32. */
    private static void split(IntVector w, byte[] lanes, int at) {
        w.and(0x00FF00FF).reinterpretAsShorts().sub((short) 32).convertShape(VectorOperators.S2B, PairLanes.B, 0)
                .reinterpretAsBytes().intoArray(lanes, at);
        w.lanewise(VectorOperators.LSHR, 8).and(0x00FF00FF).reinterpretAsShorts().sub((short) 32)
                .convertShape(VectorOperators.S2B, PairLanes.B, 0).reinterpretAsBytes().intoArray(lanes, at + 32);
    }

    /**
     * Rows r .. r+n-1 (n = 1, or 2 with r even, sharing the activation loads; row 1's offsets repeat
     * row 0's when n == 1, its sum computed and dropped) of the copy against the activations' lane
     * order ({@code lanes}, {@link Q8_KActivations#q6KLanes}) from super-block blk0 on, into out[o..o+n).
     * Per super-block: each W_k rebuilt from its nibbles and high bits, its even and odd bytes taken
     * as short vectors V_2k and V_2k+1 and multiplied by the activations in the same order, the 4 even
     * and the 4 odd products added lane by lane in 16 bits from the activations' bias ({@link
     * Q8_KActivations#q6KBias}), so each lane ends at a sum of (q - 32) * x (|sum| &lt;= 4 * 32 * 127;
     * partial sums may wrap, the final one fits), then each lane pair added into the int lane of its
     * sub-block, times the scales, and summed: Q6_KMatrix's scaledSum integer exactly, then its
     * rowDotWide's float operations, so the same bits.
     *
     * <p>Vector API calls only, no helpers: in a Q4_0 model this kernel (the Q6_K classifier) shares
     * {@link PairedRows#forRows} with Q4_0's, C2 inlined both into one compile, and past
     * NodeCountInliningCutoff helpers stayed out of line with their vectors boxed: the classifier
     * ran 3-4x slower than in 256 bits.
     */
    static void dot(PairedRows pr, Q8_KActivations a, short[] lanes, int blk0, int r, int n, float[] out, int o) {
        byte[] wq = pr.q;
        float[] wd = pr.d;
        short[] bias = a.q6KBias();
        int blocks = pr.blocks;
        int first = 2 * (r >> 1) * blocks + (r & 1);
        int second = n == 2 ? PAYLOAD : 0, secondD = n == 2 ? 1 : 0;
        float sum0 = 0f, sum1 = 0f;
        for (int blk = 0; blk < blocks; blk++) {
            int at = first + 2 * blk, w0 = at * PAYLOAD, w1 = w0 + second;
            int e = (blk0 + blk) * QK;
            // Started at -32 times the activations' sums (Q8_KActivations.q6KBias): sums of (q - 32) * x.
            ShortVector even0 = ShortVector.fromArray(PairLanes.S, bias, e >> 2), odd0 = ShortVector.fromArray(PairLanes.S, bias, (e >> 2) + 32);
            ShortVector even1 = even0, odd1 = odd0;
            // Row 0's and row 1's 64-byte runs: nibbles of W0 | W1 << 4, of W2 | W3 << 4, and the high bit pairs.
            IntVector n00 = ByteVector.fromArray(WIDE_BYTES, wq, w0).reinterpretAsInts(), n01 = ByteVector.fromArray(WIDE_BYTES, wq, w0 + 64).reinterpretAsInts();
            IntVector h0 = ByteVector.fromArray(WIDE_BYTES, wq, w0 + 128).reinterpretAsInts();
            IntVector n10 = ByteVector.fromArray(WIDE_BYTES, wq, w1).reinterpretAsInts(), n11 = ByteVector.fromArray(WIDE_BYTES, wq, w1 + 64).reinterpretAsInts();
            IntVector h1 = ByteVector.fromArray(WIDE_BYTES, wq, w1 + 128).reinterpretAsInts();
            // W_k (q + 32 as bytes: even bytes V_2k's lanes, odd bytes V_2k+1's) rebuilt on int lanes, where a bit
            // shifted across a byte lands outside that byte's mask; its even bytes as shorts by a mask, its odd ones
            // by a shift and a mask. Written out for k = 0..3 (constant shifts; no helper, see above).
            ShortVector xe = ShortVector.fromArray(PairLanes.S, lanes, e + 0), xo = ShortVector.fromArray(PairLanes.S, lanes, e + 32);
            IntVector w = n00.and(0x0F0F0F0F).or(h0.lanewise(VectorOperators.LSHL, 4).and(0x30303030));
            even0 = even0.add(w.and(0x00FF00FF).reinterpretAsShorts().mul(xe));
            odd0 = odd0.add(w.lanewise(VectorOperators.LSHR, 8).and(0x00FF00FF).reinterpretAsShorts().mul(xo));
            w = n10.and(0x0F0F0F0F).or(h1.lanewise(VectorOperators.LSHL, 4).and(0x30303030));
            even1 = even1.add(w.and(0x00FF00FF).reinterpretAsShorts().mul(xe));
            odd1 = odd1.add(w.lanewise(VectorOperators.LSHR, 8).and(0x00FF00FF).reinterpretAsShorts().mul(xo));
            xe = ShortVector.fromArray(PairLanes.S, lanes, e + 64);
            xo = ShortVector.fromArray(PairLanes.S, lanes, e + 96);
            w = n00.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(h0.lanewise(VectorOperators.LSHL, 2).and(0x30303030));
            even0 = even0.add(w.and(0x00FF00FF).reinterpretAsShorts().mul(xe));
            odd0 = odd0.add(w.lanewise(VectorOperators.LSHR, 8).and(0x00FF00FF).reinterpretAsShorts().mul(xo));
            w = n10.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(h1.lanewise(VectorOperators.LSHL, 2).and(0x30303030));
            even1 = even1.add(w.and(0x00FF00FF).reinterpretAsShorts().mul(xe));
            odd1 = odd1.add(w.lanewise(VectorOperators.LSHR, 8).and(0x00FF00FF).reinterpretAsShorts().mul(xo));
            xe = ShortVector.fromArray(PairLanes.S, lanes, e + 128);
            xo = ShortVector.fromArray(PairLanes.S, lanes, e + 160);
            w = n01.and(0x0F0F0F0F).or(h0.and(0x30303030));
            even0 = even0.add(w.and(0x00FF00FF).reinterpretAsShorts().mul(xe));
            odd0 = odd0.add(w.lanewise(VectorOperators.LSHR, 8).and(0x00FF00FF).reinterpretAsShorts().mul(xo));
            w = n11.and(0x0F0F0F0F).or(h1.and(0x30303030));
            even1 = even1.add(w.and(0x00FF00FF).reinterpretAsShorts().mul(xe));
            odd1 = odd1.add(w.lanewise(VectorOperators.LSHR, 8).and(0x00FF00FF).reinterpretAsShorts().mul(xo));
            xe = ShortVector.fromArray(PairLanes.S, lanes, e + 192);
            xo = ShortVector.fromArray(PairLanes.S, lanes, e + 224);
            w = n01.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(h0.lanewise(VectorOperators.LSHR, 2).and(0x30303030));
            even0 = even0.add(w.and(0x00FF00FF).reinterpretAsShorts().mul(xe));
            odd0 = odd0.add(w.lanewise(VectorOperators.LSHR, 8).and(0x00FF00FF).reinterpretAsShorts().mul(xo));
            w = n11.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(h1.lanewise(VectorOperators.LSHR, 2).and(0x30303030));
            even1 = even1.add(w.and(0x00FF00FF).reinterpretAsShorts().mul(xe));
            odd1 = odd1.add(w.lanewise(VectorOperators.LSHR, 8).and(0x00FF00FF).reinterpretAsShorts().mul(xo));
            IntVector e0 = even0.reinterpretAsInts(), f0 = odd0.reinterpretAsInts(), e1 = even1.reinterpretAsInts(), f1 = odd1.reinterpretAsInts();
            IntVector sc0 = (IntVector) ByteVector.fromArray(ByteVector.SPECIES_128, wq, w0 + SCALES_AT).convertShape(VectorOperators.B2I, PairLanes.I, 0);
            IntVector sc1 = (IntVector) ByteVector.fromArray(ByteVector.SPECIES_128, wq, w1 + SCALES_AT).convertShape(VectorOperators.B2I, PairLanes.I, 0);
            // Int lanes 2s, 2s + 1 of the even sums belong to sub-block s, of the odd sums to 8 + s: halved into one
            // lane per sub-block, in order, they take the 16 scales as loaded, one multiply a row.
            IntVector pe0 = e0.add(e0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            IntVector pf0 = f0.add(f0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            IntVector pe1 = e1.add(e1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            IntVector pf1 = f1.add(f1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            IntVector t0 = PairLanes.EVEN_LANES.selectFrom(pe0, pf0).add(PairLanes.ODD_LANES.selectFrom(pe0, pf0)).mul(sc0);
            IntVector t1 = PairLanes.EVEN_LANES.selectFrom(pe1, pf1).add(PairLanes.ODD_LANES.selectFrom(pe1, pf1)).mul(sc1);
            // Both rows' exact sums at once: halve into row 0 | row 1 halves, then a butterfly in each half.
            IntVector h = PairLanes.EVEN_LANES.selectFrom(t0, t1).add(PairLanes.ODD_LANES.selectFrom(t0, t1));
            h = h.add(h.rearrange(PairLanes.INT_SWAP4));
            h = h.add(h.rearrange(PairLanes.INT_SWAP2));
            h = h.add(h.rearrange(PairLanes.INT_SWAP1));
            int isum0 = h.lane(0), isum1 = h.lane(8);
            float da = a.d[blk0 + blk];
            sum0 += da * (wd[at] * isum0);
            sum1 += da * (wd[at + secondD] * isum1);
        }
        out[o] = sum0;
        if (n == 2) {
            out[o + 1] = sum1;
        }
    }

    /**
     * {@link #dot} for {@code batch} tokens (2 or more; token t's activations from super-block
     * t * perToken on), into out[outOff + t*rows + r (+ 1)]: each row-block's vectors are rebuilt once
     * and kept in registers for every token, where a pass per token rebuilt them each time (batched
     * decode ran 0.76-0.93x the byte copy's speed). Per token and row the same integers and float
     * operations as {@link #dot}, block after block: the same bits. Tokens go in pairs (an odd last one
     * alone, its partner's sums 0 and dropped), both tokens' row sums halved together to lanes 2b + row (b
     * the token of the pair) and their float operations done in one vector, each pair's running sums in
     * {@code sums} ((batch + 1) / 2 vectors) until the last block: per token the butterflies, two lane
     * extractions and the scalar float operations cost more than the halving they replace (as in
     * {@link Q4_KLanes#dotTokens}).
     */
    static void dotTokens(PairedRows pr, Q8_KActivations a, short[] lanes, int batch, int perToken, int rows, int r, int n,
                          float[] sums, float[] out, int outOff) {
        byte[] wq = pr.q;
        float[] wd = pr.d;
        short[] bias = a.q6KBias();
        float[] ad = a.d;
        int blocks = pr.blocks, fl = PairLanes.F.length(), pairs = (batch + 1) / 2;
        int first = 2 * (r >> 1) * blocks + (r & 1);
        int second = n == 2 ? PAYLOAD : 0, secondD = n == 2 ? 1 : 0;
        java.util.Arrays.fill(sums, 0, pairs * fl, 0f);
        IntVector zero = IntVector.zero(PairLanes.I);
        for (int blk = 0; blk < blocks; blk++) {
            int at = first + 2 * blk, w0 = at * PAYLOAD, w1 = w0 + second;
            IntVector n00 = ByteVector.fromArray(WIDE_BYTES, wq, w0).reinterpretAsInts(), n01 = ByteVector.fromArray(WIDE_BYTES, wq, w0 + 64).reinterpretAsInts();
            IntVector h0 = ByteVector.fromArray(WIDE_BYTES, wq, w0 + 128).reinterpretAsInts();
            IntVector n10 = ByteVector.fromArray(WIDE_BYTES, wq, w1).reinterpretAsInts(), n11 = ByteVector.fromArray(WIDE_BYTES, wq, w1 + 64).reinterpretAsInts();
            IntVector h1 = ByteVector.fromArray(WIDE_BYTES, wq, w1 + 128).reinterpretAsInts();
            IntVector w00 = n00.and(0x0F0F0F0F).or(h0.lanewise(VectorOperators.LSHL, 4).and(0x30303030));
            IntVector w10 = n00.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(h0.lanewise(VectorOperators.LSHL, 2).and(0x30303030));
            IntVector w20 = n01.and(0x0F0F0F0F).or(h0.and(0x30303030));
            IntVector w30 = n01.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(h0.lanewise(VectorOperators.LSHR, 2).and(0x30303030));
            ShortVector e00 = w00.and(0x00FF00FF).reinterpretAsShorts(), o00 = w00.lanewise(VectorOperators.LSHR, 8).and(0x00FF00FF).reinterpretAsShorts();
            ShortVector e10 = w10.and(0x00FF00FF).reinterpretAsShorts(), o10 = w10.lanewise(VectorOperators.LSHR, 8).and(0x00FF00FF).reinterpretAsShorts();
            ShortVector e20 = w20.and(0x00FF00FF).reinterpretAsShorts(), o20 = w20.lanewise(VectorOperators.LSHR, 8).and(0x00FF00FF).reinterpretAsShorts();
            ShortVector e30 = w30.and(0x00FF00FF).reinterpretAsShorts(), o30 = w30.lanewise(VectorOperators.LSHR, 8).and(0x00FF00FF).reinterpretAsShorts();
            IntVector w01 = n10.and(0x0F0F0F0F).or(h1.lanewise(VectorOperators.LSHL, 4).and(0x30303030));
            IntVector w11 = n10.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(h1.lanewise(VectorOperators.LSHL, 2).and(0x30303030));
            IntVector w21 = n11.and(0x0F0F0F0F).or(h1.and(0x30303030));
            IntVector w31 = n11.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(h1.lanewise(VectorOperators.LSHR, 2).and(0x30303030));
            ShortVector e01 = w01.and(0x00FF00FF).reinterpretAsShorts(), o01 = w01.lanewise(VectorOperators.LSHR, 8).and(0x00FF00FF).reinterpretAsShorts();
            ShortVector e11 = w11.and(0x00FF00FF).reinterpretAsShorts(), o11 = w11.lanewise(VectorOperators.LSHR, 8).and(0x00FF00FF).reinterpretAsShorts();
            ShortVector e21 = w21.and(0x00FF00FF).reinterpretAsShorts(), o21 = w21.lanewise(VectorOperators.LSHR, 8).and(0x00FF00FF).reinterpretAsShorts();
            ShortVector e31 = w31.and(0x00FF00FF).reinterpretAsShorts(), o31 = w31.lanewise(VectorOperators.LSHR, 8).and(0x00FF00FF).reinterpretAsShorts();
            IntVector sc0 = (IntVector) ByteVector.fromArray(ByteVector.SPECIES_128, wq, w0 + SCALES_AT).convertShape(VectorOperators.B2I, PairLanes.I, 0);
            IntVector sc1 = (IntVector) ByteVector.fromArray(ByteVector.SPECIES_128, wq, w1 + SCALES_AT).convertShape(VectorOperators.B2I, PairLanes.I, 0);
            IntVector lo0 = sc0.rearrange(LOW_SCALES), hi0 = sc0.rearrange(HIGH_SCALES), lo1 = sc1.rearrange(LOW_SCALES), hi1 = sc1.rearrange(HIGH_SCALES);
            // d of both rows in the halved sums' lanes 2b + row, for both tokens b of a pair.
            FloatVector rowScales = FloatVector.broadcast(PairLanes.F, wd[at]).blend(wd[at + secondD], ODD_FLOAT_LANES);
            for (int tp = 0; tp < pairs; tp++) {
                int tb = 2 * tp * perToken + blk, ub = Math.min(2 * tp + 1, batch - 1) * perToken + blk; // ub == tb: no partner
                // Token A's sums (lanes 0-7 row 0, 8-15 row 1), then its partner's, as in dot.
                IntVector hA, hB = zero;
                {
                    int e = tb * QK;
                    ShortVector xe0 = ShortVector.fromArray(PairLanes.S, lanes, e), xo0 = ShortVector.fromArray(PairLanes.S, lanes, e + 32);
                    ShortVector xe1 = ShortVector.fromArray(PairLanes.S, lanes, e + 64), xo1 = ShortVector.fromArray(PairLanes.S, lanes, e + 96);
                    ShortVector xe2 = ShortVector.fromArray(PairLanes.S, lanes, e + 128), xo2 = ShortVector.fromArray(PairLanes.S, lanes, e + 160);
                    ShortVector xe3 = ShortVector.fromArray(PairLanes.S, lanes, e + 192), xo3 = ShortVector.fromArray(PairLanes.S, lanes, e + 224);
                    ShortVector be = ShortVector.fromArray(PairLanes.S, bias, e >> 2), bo = ShortVector.fromArray(PairLanes.S, bias, (e >> 2) + 32);
                    IntVector ev0 = be.add(e00.mul(xe0)).add(e10.mul(xe1)).add(e20.mul(xe2)).add(e30.mul(xe3)).reinterpretAsInts();
                    IntVector od0 = bo.add(o00.mul(xo0)).add(o10.mul(xo1)).add(o20.mul(xo2)).add(o30.mul(xo3)).reinterpretAsInts();
                    IntVector ev1 = be.add(e01.mul(xe0)).add(e11.mul(xe1)).add(e21.mul(xe2)).add(e31.mul(xe3)).reinterpretAsInts();
                    IntVector od1 = bo.add(o01.mul(xo0)).add(o11.mul(xo1)).add(o21.mul(xo2)).add(o31.mul(xo3)).reinterpretAsInts();
                    IntVector t0 = ev0.add(ev0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(lo0)
                            .add(od0.add(od0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(hi0));
                    IntVector t1 = ev1.add(ev1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(lo1)
                            .add(od1.add(od1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(hi1));
                    hA = PairLanes.EVEN_LANES.selectFrom(t0, t1).add(PairLanes.ODD_LANES.selectFrom(t0, t1));
                }
                if (ub != tb) {
                    int e = ub * QK;
                    ShortVector xe0 = ShortVector.fromArray(PairLanes.S, lanes, e), xo0 = ShortVector.fromArray(PairLanes.S, lanes, e + 32);
                    ShortVector xe1 = ShortVector.fromArray(PairLanes.S, lanes, e + 64), xo1 = ShortVector.fromArray(PairLanes.S, lanes, e + 96);
                    ShortVector xe2 = ShortVector.fromArray(PairLanes.S, lanes, e + 128), xo2 = ShortVector.fromArray(PairLanes.S, lanes, e + 160);
                    ShortVector xe3 = ShortVector.fromArray(PairLanes.S, lanes, e + 192), xo3 = ShortVector.fromArray(PairLanes.S, lanes, e + 224);
                    ShortVector be = ShortVector.fromArray(PairLanes.S, bias, e >> 2), bo = ShortVector.fromArray(PairLanes.S, bias, (e >> 2) + 32);
                    IntVector ev0 = be.add(e00.mul(xe0)).add(e10.mul(xe1)).add(e20.mul(xe2)).add(e30.mul(xe3)).reinterpretAsInts();
                    IntVector od0 = bo.add(o00.mul(xo0)).add(o10.mul(xo1)).add(o20.mul(xo2)).add(o30.mul(xo3)).reinterpretAsInts();
                    IntVector ev1 = be.add(e01.mul(xe0)).add(e11.mul(xe1)).add(e21.mul(xe2)).add(e31.mul(xe3)).reinterpretAsInts();
                    IntVector od1 = bo.add(o01.mul(xo0)).add(o11.mul(xo1)).add(o21.mul(xo2)).add(o31.mul(xo3)).reinterpretAsInts();
                    IntVector t0 = ev0.add(ev0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(lo0)
                            .add(od0.add(od0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(hi0));
                    IntVector t1 = ev1.add(ev1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(lo1)
                            .add(od1.add(od1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(hi1));
                    hB = PairLanes.EVEN_LANES.selectFrom(t0, t1).add(PairLanes.ODD_LANES.selectFrom(t0, t1));
                }
                // Lanes 0-3 row 0 | 4-7 row 1 of token A, 8-15 of token B; twice more: lane 2b + row.
                IntVector h = PairLanes.EVEN_LANES.selectFrom(hA, hB).add(PairLanes.ODD_LANES.selectFrom(hA, hB));
                h = PairLanes.EVEN_LANES.selectFrom(h, h).add(PairLanes.ODD_LANES.selectFrom(h, h));
                h = PairLanes.EVEN_LANES.selectFrom(h, h).add(PairLanes.ODD_LANES.selectFrom(h, h));
                FloatVector terms = ((FloatVector) h.convert(VectorOperators.I2F, 0)).mul(rowScales)
                        .mul(FloatVector.broadcast(PairLanes.F, ad[tb]).blend(ad[ub], SECOND_TOKEN));
                // The new terms are the receivers (Q4_KLanes.dotBlockPairs' note); float addition commutes exactly.
                terms.add(FloatVector.fromArray(PairLanes.F, sums, tp * fl)).intoArray(sums, tp * fl);
            }
        }
        PairLanes.writeTokenSums(sums, 2, batch, rows, r, n, out, outOff);
    }

    /** Lanes 2b + 1: row 1's sums in {@link #dotTokens}' halved order. */
    private static final VectorMask<Float> ODD_FLOAT_LANES = VectorMask.fromLong(PairLanes.F, 0xAAAAL);
    /** Lanes 2 and 3: the second token of a pair. */
    private static final VectorMask<Float> SECOND_TOKEN = VectorMask.fromLong(PairLanes.F, 0x0CL);

    /** Int lane k of an even (odd) vectors' sum belongs to sub-block k/2 (8 + k/2): their scales, each twice. */
    private static final VectorShuffle<Integer> LOW_SCALES = VectorShuffle.fromOp(PairLanes.I, k -> k / 2);
    private static final VectorShuffle<Integer> HIGH_SCALES = VectorShuffle.fromOp(PairLanes.I, k -> 8 + k / 2);
}
