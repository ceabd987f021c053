package dev.tandem.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The integer-dot formats' matmul for small batches (Q8_0, Q4_0): each weight row is decoded once
 * into an L1-resident buffer of floats in {@link IntDot}'s lane order and multiplied against all the
 * batch's tokens, with exactly IntDot's arithmetic per (row, token), so every result is bit-identical
 * to the matvec's.
 *
 * <p><b>The layout.</b> IntDot's lane k of a block holds the products of elements 2k, 2k+1, 16+2k and
 * 17+2k. Here a block's 32 weights (and each token's 32 activations) are stored as four float vectors
 * of 8: vector m holds, in lane k, element 2k (m=0), 2k+1 (m=1), 16+2k (m=2) or 17+2k (m=3). A block
 * of one (row, token) is then one multiply and three FMAs, whose lane k is lane k's integer sum
 * exactly (products and partial sums are integers below 2^17, exact in fp32 in any order), and one
 * fma(lane, d_w*d_a, acc): the matvec's own combining step, block after block, then its butterfly.
 *
 * <p><b>Why, and why it is off by default.</b> The per-row kernel pays its 16-bit multiplies and lane
 * pairing (~11 vector instructions per 32 products) for every (row, token); here the weights are
 * widened, paired and converted once per row and each further token costs five float FMAs. Unlike
 * {@link IntGemm} (tokens in lanes) nothing is padded, so it could serve batches from
 * {@link #MIN_BATCH} up to IntGemm's. But on the AVX2 VM the 16-bit multiplies and the FMAs share the
 * same two pipes, and both kernels ran at ~13 GMAC/s a thread (docs/benchmarks.md, "Batched decode
 * of 8-63 rows"), so the per-row kernel stays the default; tandem.rowGemm=true turns this one on
 * ({@link KernelConfig#rowGemm}) for measuring elsewhere.
 */
final class IntRowGemm {
    private IntRowGemm() {}

    static final int BLOCK = Q8Activations.BLOCK;
    /** Tokens per register tile. */
    static final int TILE = 4;
    /** Below this the row's decode is shared by too few tokens (the per-row kernel's two-token pass shares its own). */
    static final int MIN_BATCH = 8;

    /** Needs the 256-bit integer form (one vector holds a block's 8 lanes); IntGemm takes the larger batches. */
    static boolean serves(int batch) {
        return KernelConfig.rowGemm() && KernelConfig.tokenTiles() && IntDot.WIDE && batch >= MIN_BATCH && !IntGemm.serves(batch);
    }

    /**
     * The 16 shorts of s (elements e..e+15 of a block) as two float vectors in lane order: the even
     * elements into dst[off..off+8), the odd ones into dst[off+8..off+16). An int holds two adjacent
     * shorts, so the low one sign-extended is element 2k and the high one element 2k+1, already in lane k.
     */
    static void evenOdd(ShortVector s, float[] dst, int off) {
        IntVector p = s.reinterpretAsInts();
        ((FloatVector) p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                .convert(VectorOperators.I2F, 0)).intoArray(dst, off);
        ((FloatVector) p.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).intoArray(dst, off + 8);
    }

    /** Every token's activations in lane order, as floats (one pass per matmul, shared by all rows). */
    static float[] activationLanes(Q8Activations a) {
        int n = a.rows() * a.cols();
        float[] xl = new float[n];
        for (int j = 0; j < n; j += 16) {
            evenOdd(ShortVector.fromArray(IntDot.S, a.q, j), xl, j);
        }
        return xl;
    }

    /**
     * out[t*rows + r] = dotQ8(r, a, t) for r in [start, end) and every token t; xl is
     * {@link #activationLanes}(a).
     */
    static void rows(IntDot.Format w, int start, int end, Q8Activations a, float[] xl, float[] out) {
        int rows = w.rows(), cols = w.cols(), blocks = cols / BLOCK, batch = a.rows();
        float[] wl = new float[cols];
        float[] ws = new float[blocks];
        float[] sc = new float[batch * blocks];
        for (int r = start; r < end; r++) {
            w.decodeLanes(r, wl, ws);
            scales(ws, a.d, batch, blocks, sc);
            int t = 0;
            for (; t + TILE <= batch; t += TILE) {
                tile4(wl, sc, xl, blocks, t, out, rows, r);
            }
            for (; t < batch; t++) {
                out[t * rows + r] = one(wl, sc, xl, blocks, t);
            }
        }
    }

    /**
     * sc[t*blocks + blk] = d_w[blk] * d_a[t][blk]: the matvec's float multiply for each block pair,
     * done once per (row, token) as vectors over blocks, so the kernels' inner loops only load it.
     */
    private static void scales(float[] ws, float[] d, int batch, int blocks, float[] sc) {
        int vec = blocks - blocks % IntDot.F.length();
        for (int t = 0; t < batch; t++) {
            int o = t * blocks, blk = 0;
            for (; blk < vec; blk += IntDot.F.length()) {
                FloatVector.fromArray(IntDot.F, ws, blk).mul(FloatVector.fromArray(IntDot.F, d, o + blk)).intoArray(sc, o + blk);
            }
            for (; blk < blocks; blk++) {
                sc[o + blk] = ws[blk] * d[o + blk];
            }
        }
    }

    /** Lane sums of one block of one token: W0*X0 + W1*X1 + W2*X2 + W3*X3, exact. */
    private static FloatVector lanes(FloatVector w0, FloatVector w1, FloatVector w2, FloatVector w3, float[] xl, int x) {
        FloatVector l = w0.mul(FloatVector.fromArray(IntDot.F, xl, x));
        l = w1.fma(FloatVector.fromArray(IntDot.F, xl, x + 8), l);
        l = w2.fma(FloatVector.fromArray(IntDot.F, xl, x + 16), l);
        return w3.fma(FloatVector.fromArray(IntDot.F, xl, x + 24), l);
    }

    /** Tokens t..t+3 against the decoded row: the row's block vectors stay in registers across the four. */
    private static void tile4(float[] wl, float[] sc, float[] xl, int blocks, int t, float[] out, int rows, int r) {
        int cols = blocks * BLOCK;
        int x0 = t * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        int d0 = t * blocks, d1 = d0 + blocks, d2 = d1 + blocks, d3 = d2 + blocks;
        FloatVector a0 = FloatVector.zero(IntDot.F), a1 = a0, a2 = a0, a3 = a0;
        for (int blk = 0; blk < blocks; blk++) {
            int j = blk * BLOCK;
            FloatVector w0 = FloatVector.fromArray(IntDot.F, wl, j), w1 = FloatVector.fromArray(IntDot.F, wl, j + 8);
            FloatVector w2 = FloatVector.fromArray(IntDot.F, wl, j + 16), w3 = FloatVector.fromArray(IntDot.F, wl, j + 24);
            a0 = lanes(w0, w1, w2, w3, xl, x0 + j).fma(IntDot.scale(sc[d0 + blk]), a0);
            a1 = lanes(w0, w1, w2, w3, xl, x1 + j).fma(IntDot.scale(sc[d1 + blk]), a1);
            a2 = lanes(w0, w1, w2, w3, xl, x2 + j).fma(IntDot.scale(sc[d2 + blk]), a2);
            a3 = lanes(w0, w1, w2, w3, xl, x3 + j).fma(IntDot.scale(sc[d3 + blk]), a3);
        }
        out[t * rows + r] = IntDot.finish(a0);
        out[(t + 1) * rows + r] = IntDot.finish(a1);
        out[(t + 2) * rows + r] = IntDot.finish(a2);
        out[(t + 3) * rows + r] = IntDot.finish(a3);
    }

    /** One token against the decoded row (the batch's last tokens past a multiple of four). */
    private static float one(float[] wl, float[] sc, float[] xl, int blocks, int t) {
        int cols = blocks * BLOCK, x = t * cols, db = t * blocks;
        FloatVector acc = FloatVector.zero(IntDot.F);
        for (int blk = 0; blk < blocks; blk++) {
            int j = blk * BLOCK;
            FloatVector l = lanes(FloatVector.fromArray(IntDot.F, wl, j), FloatVector.fromArray(IntDot.F, wl, j + 8),
                    FloatVector.fromArray(IntDot.F, wl, j + 16), FloatVector.fromArray(IntDot.F, wl, j + 24), xl, x + j);
            acc = l.fma(IntDot.scale(sc[db + blk]), acc);
        }
        return IntDot.finish(acc);
    }
}
