package dev.tandem.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The integer-dot formats' batched-decode matmul (Q8_0 and Q4_0, 2 tokens up to IntGemm's batches)
 * on 512-bit vectors: {@link ShortRowGemm}'s widened rows, with two tokens in one vector, so each
 * instruction does the work of two of the 256-bit form's and every value is still the matvec's bit
 * for bit.
 *
 * <p><b>Why two tokens, not two blocks.</b> {@link IntDot}'s arithmetic is 8 lanes per block, one
 * fma per block with that block's scale, in block order. A 512-bit vector holding two blocks of one
 * token would mix two scales into one accumulator chain; holding one block of two tokens keeps each
 * half exactly the 256-bit form: the lower half is token t's 8 lanes, the upper token t+1's. So the
 * weight row is widened with each half-block written twice (the same 16 shorts for both tokens), the
 * activations of each token pair are interleaved half-block by half-block once per call, and the
 * scale vector is d_w times (d_a(t) in lanes 0-7, d_a(t+1) in 8-15): per lane the same float multiply
 * as the matvec's d_w*d_a. The butterfly's swaps (lane i with i^4, i^2, i^1) stay inside each half.
 *
 * <p>An odd batch's last token is paired with a zero token whose half is computed and dropped.
 */
final class TokenPairGemm {
    private TokenPairGemm() {}

    static final int BLOCK = Q8Activations.BLOCK;
    /** Where this runs: 512-bit vectors (a machine with AVX-512, or tandem.vectorBits=512). */
    static final boolean AVAILABLE = IntDot.WIDE && KernelConfig.vectorBits() >= 512;
    /**
     * From 3 tokens: one thread, thread CPU time, against what ran before (ShortRowGemm from 4, the
     * per-row kernel below), on the Zen 5 machine under load 5-6: 2048 x 768 Q8_0 0.77x at 2 tokens,
     * 0.9-1.1x at 3-8, 1.0-1.27x at 16; 5632 x 2048 1.0-1.35x at 4 and 1.1-1.4x at 16
     * (docs/benchmarks.md, "Batched decode on the Zen 5 machine"). Not the 2x of twice the lanes: the
     * 512-bit integer work seems to cost about what twice the 256-bit work does on this machine
     * (IntGemm's 512-bit tile runs at 23-25 GMAC/s a thread, what its 256-bit one did on Zen 3).
     */
    static final int MIN_BATCH = 3;

    private static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorShuffle<Float> SWAP4 = VectorShuffle.fromOp(F, i -> i ^ 4);
    private static final VectorShuffle<Float> SWAP2 = VectorShuffle.fromOp(F, i -> i ^ 2);
    private static final VectorShuffle<Float> SWAP1 = VectorShuffle.fromOp(F, i -> i ^ 1);

    static boolean serves(int batch, int cols) {
        return AVAILABLE && KernelConfig.shortRows() && KernelConfig.tokenPairs() && batch >= MIN_BATCH
                && !IntGemm.serves(batch, cols);
    }

    /**
     * out[t*rows + r] = dotQ8(r, a, t) for r in [start, end) and every token t (2 or more).
     */
    static void rows(IntDot.Format w, int start, int end, Q8Activations a, float[] out) {
        int rows = w.rows(), cols = w.cols(), blocks = cols / BLOCK, batch = a.rows();
        if (batch < 2) {
            throw new IllegalArgumentException("TokenPairGemm needs at least 2 tokens, got " + batch);
        }
        Packed packed = a.tokenPairs(); // once per matmul, not per thread's chunk and matrix
        int pairs = packed.pairs();
        short[] qp = packed.q();
        float[] dp = packed.d();
        short[] wq = new short[cols];
        float[] ws = new float[blocks];
        short[] wd = new short[2 * cols];
        for (int r = start; r < end; r++) {
            w.decodeShorts(r, wq, ws);
            for (int j = 0; j < cols; j += 16) { // each half-block twice (a System.arraycopy each cost more than the products at 2-4 tokens)
                ShortVector h = ShortVector.fromArray(IntDot.S, wq, j);
                h.intoArray(wd, 2 * j);
                h.intoArray(wd, 2 * j + 16);
            }
            int p = 0;
            for (; p + 2 <= pairs; p += 2) {
                twoPairs(wd, ws, qp, dp, blocks, p, out, rows, r, batch);
            }
            if (p < pairs) {
                pair(wd, ws, qp, dp, blocks, p, out, rows, r, batch);
            }
        }
    }

    /** A batch's activations packed in token pairs ({@link #pack}); built once per {@link Q8Activations}. */
    record Packed(int pairs, short[] q, float[] d) {}

    /**
     * Pair p's activations: q[p*2*cols + blk*64 ..] = token 2p's elements 0-15 of block blk, token
     * 2p+1's 0-15, token 2p's 16-31, token 2p+1's 16-31; d[(p*blocks + blk)*16 ..] = token 2p's block
     * scale 8 times, then token 2p+1's. A missing token 2p+1 stays zero.
     */
    static Packed pack(Q8Activations a) {
        int cols = a.cols(), blocks = cols / BLOCK, batch = a.rows(), pairs = (batch + 1) / 2;
        short[] qp = new short[pairs * 2 * cols];
        float[] dp = new float[pairs * blocks * 16];
        for (int t = 0; t < batch; t++) {
            int p = t / 2, half = (t & 1) * 16;
            for (int blk = 0; blk < blocks; blk++) {
                int src = t * cols + blk * BLOCK, dst = p * 2 * cols + blk * 64 + half;
                System.arraycopy(a.q, src, qp, dst, 16);
                System.arraycopy(a.q, src + 16, qp, dst + 32, 16);
                int s = (p * blocks + blk) * 16 + (t & 1) * 8;
                java.util.Arrays.fill(dp, s, s + 8, a.d[t * blocks + blk]);
            }
        }
        return new Packed(pairs, qp, dp);
    }

    /** w0*a0 + w1*a1 in shorts, adjacent lanes paired into ints, as floats ({@link IntDot#lanes}, 512 bits). */
    private static FloatVector lanes(ShortVector w0, ShortVector a0, ShortVector w1, ShortVector a1) {
        IntVector p = w0.mul(a0).add(w1.mul(a1)).reinterpretAsInts();
        IntVector lo = p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16);
        return (FloatVector) lo.add(p.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
    }

    /**
     * Token pairs p and p+1 against the widened row: each weight vector loaded once for both. (Four
     * pairs a pass, tried on the Zen 5 machine, ran at 1/20 of the speed: C2 left its vectors boxed.)
     */
    private static void twoPairs(short[] wd, float[] ws, short[] qp, float[] dp, int blocks, int p, float[] out,
                                 int rows, int r, int batch) {
        int q0 = p * 2 * blocks * BLOCK, q1 = q0 + 2 * blocks * BLOCK, d0 = p * blocks * 16, d1 = d0 + blocks * 16;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        for (int blk = 0; blk < blocks; blk++) {
            int j = blk * 64, s = blk * 16;
            ShortVector w0 = ShortVector.fromArray(S, wd, j), w1 = ShortVector.fromArray(S, wd, j + 32);
            FloatVector dw = FloatVector.broadcast(F, ws[blk]);
            acc0 = lanes(w0, ShortVector.fromArray(S, qp, q0 + j), w1, ShortVector.fromArray(S, qp, q0 + j + 32))
                    .fma(FloatVector.fromArray(F, dp, d0 + s).mul(dw), acc0);
            acc1 = lanes(w0, ShortVector.fromArray(S, qp, q1 + j), w1, ShortVector.fromArray(S, qp, q1 + j + 32))
                    .fma(FloatVector.fromArray(F, dp, d1 + s).mul(dw), acc1);
        }
        finish(acc0, 2 * p, out, rows, r, batch);
        finish(acc1, 2 * p + 2, out, rows, r, batch);
    }

    private static void pair(short[] wd, float[] ws, short[] qp, float[] dp, int blocks, int p, float[] out,
                             int rows, int r, int batch) {
        int q0 = p * 2 * blocks * BLOCK, d0 = p * blocks * 16;
        FloatVector acc = FloatVector.zero(F);
        for (int blk = 0; blk < blocks; blk++) {
            int j = blk * 64, s = blk * 16;
            ShortVector w0 = ShortVector.fromArray(S, wd, j), w1 = ShortVector.fromArray(S, wd, j + 32);
            acc = lanes(w0, ShortVector.fromArray(S, qp, q0 + j), w1, ShortVector.fromArray(S, qp, q0 + j + 32))
                    .fma(FloatVector.fromArray(F, dp, d0 + s).mul(FloatVector.broadcast(F, ws[blk])), acc);
        }
        finish(acc, 2 * p, out, rows, r, batch);
    }

    /** IntDot's butterfly in each half: lane 0 is token t's sum, lane 8 token t+1's (dropped past the batch). */
    private static void finish(FloatVector acc, int t, float[] out, int rows, int r, int batch) {
        FloatVector v = acc.add(acc.rearrange(SWAP4));
        v = v.add(v.rearrange(SWAP2));
        v = v.add(v.rearrange(SWAP1));
        out[t * rows + r] = v.lane(0);
        if (t + 1 < batch) {
            out[(t + 1) * rows + r] = v.lane(8);
        }
    }
}
