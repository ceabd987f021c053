package dev.tandem.kernels;

import static dev.tandem.kernels.Vec.F;
import static dev.tandem.kernels.Vec.FL;

import jdk.incubator.vector.FloatVector;

/**
 * {@link IntGemm}'s float form (exact small integers held as floats, tokens in lanes, IntDot's per-lane
 * order) with a tile of ONE token vector (FL tokens: 16 at 512 bits) and 8 rows a register tile, for
 * batched decode (batches below IntGemm's 32-token tiles). Every value is the matvec's bit for bit.
 *
 * <p><b>Why.</b> Below IntGemm's tile, batches ran {@link TokenPairGemm}'s 16-bit integer form: about
 * 10 vector instructions per 64 multiply-adds. Here one FMA (with a broadcast weight) does FL
 * multiply-adds, plus one combining FMA per 4 products per (row, token) to keep IntDot's lane order.
 * With one token vector, each activation load feeds 8 rows (8 product and 8 accumulator vectors, an
 * activation and a weight: 18 of AVX-512's 32 registers).
 *
 * <p><b>The same order as the matvec.</b> Exactly {@link IntGemm}'s: per (row, token) the 8 integer
 * lanes of each block (elements 2k, 2k+1, 16+2k, 17+2k) summed exactly (|sum| &lt; 2^17, exact in
 * fp32), fma'd with d_w*d_a into lane k's accumulator block after block, then IntDot's butterfly. The
 * first product is a multiply, not an fma with +0 (see IntGemm.kernel: the same bits).
 *
 * <p>The weights of a group of 8 rows are decoded to floats right before their use, into an L1-sized
 * buffer (8 x cols floats), rather than a panel of 16 rows reused across tiles.
 */
final class TokenVectorGemm {
    private TokenVectorGemm() {}

    /** Tokens per tile: one float vector. */
    static final int TT = FL;
    /** Weight rows per register tile. */
    static final int R = 8;
    private static final int BLOCK = Q8Activations.BLOCK;
    /** Integer lanes per block (IntDot's arithmetic). */
    private static final int LANES = 8;

    /**
     * The batches this takes by default (tandem.tokenVectors=auto, 512-bit vectors): those whose tiles
     * are full enough. One thread, thread CPU time, against TokenPairGemm in the same JVM, alternating
     * (docs/benchmarks.md, "Batched decode from one token vector"), 2048 x 768 Q8_0: 0.54-0.69x at 8
     * tokens, 0.77-0.8x at 12, 1.0x at 14, 1.1-1.25x at 16, 0.76x at 18, 0.9-1.1x at 20, 1.06-1.2x at 24,
     * 1.5x at 28 and 30; 768 x 2048: 0.95x at 12, 1.09x at 14, 1.27x at 16, 0.82x at 20, 1.0x at 24.
     * The kernel is bound by its FMAs (one per 16 products plus one per 4 products to keep IntDot's
     * order), so a tile costs the same however few of its 16 tokens are real.
     */
    static final int MIN_BATCH = 14;
    static final int MAX_BATCH = 30;
    /** From here two tiles (the second ragged) beat the integer form. */
    static final int MIN_TWO_TILES = 24;

    static boolean serves(int batch) {
        if (!IntDot.VECTOR || !KernelConfig.tokenTiles() || batch < 2) {
            return false;
        }
        int mode = KernelConfig.tokenVectors();
        if (mode == 0) {
            return false;
        }
        if (mode == 1) { // forced on (test JVMs): every batch from 2 that IntGemm does not take
            return !IntGemm.serves(batch);
        }
        return FL >= 16 && !IntGemm.serves(batch)
                && (batch >= MIN_BATCH && batch <= TT || batch >= MIN_TWO_TILES && batch <= MAX_BATCH);
    }

    /** out[t*rows + r] = dotQ8(r, a, t) for every row r and activation row t. */
    static void matmul(IntDot.Format w, Q8Activations a, float[] out) {
        matmulEach(new IntDot.Format[] {w}, a, new float[][] {out});
    }

    /**
     * {@link #matmul} of each ws[i] into outs[i] on the same activations: packed once, the 8-row groups
     * of all matrices, numbered one after the other, split over the pool. Each value is what matmul
     * gives it alone.
     */
    static void matmulEach(IntDot.Format[] ws, Q8Activations a, float[][] outs) {
        int cols = a.cols(), blocks = cols / BLOCK, batch = a.rows();
        int tiles = (batch + TT - 1) / TT;
        BatchScratch scratch = BatchScratch.ofThread(); // reused: fresh arrays were megabytes a prefill call
        float[] xt = scratch.packedActivations(tiles, TT, cols, batch); // lines from AlignedFloats.FIRST where known
        float[] dt = scratch.packedScales(tiles, TT, blocks, batch);
        for (int tile = 0; tile < tiles; tile++) {
            IntGemm.pack(a, tile, TT, xt, dt);
        }
        int[] firstGroup = new int[ws.length + 1];
        for (int i = 0; i < ws.length; i++) {
            if (ws[i].cols() != cols) {
                throw new IllegalArgumentException("activations of " + cols + " columns for a matrix of " + ws[i].cols());
            }
            firstGroup[i + 1] = Math.addExact(firstGroup[i], (ws[i].rows() + R - 1) / R);
        }
        Parallel.forRange(firstGroup[ws.length], 2, (start, end) -> {
            float[] wq = new float[R * cols];
            float[] wsc = new float[R * blocks];
            float[] sc = AlignedFloats.allocate(blocks * R * TT);
            float[] acc = new float[LANES * R * TT];
            float[] sums = new float[R * TT];
            int i = 0;
            for (int g = start; g < end; g++) {
                while (g >= firstGroup[i + 1]) {
                    i++;
                }
                IntDot.Format w = ws[i];
                float[] out = outs[i];
                int rows = w.rows();
                int r0 = (g - firstGroup[i]) * R;
                if (r0 + R > rows) { // a last group of fewer than R rows: the matvec's own dot
                    for (int t = 0; t < batch; t++) {
                        w.dotRows(r0, rows, a, t, out, t * rows);
                    }
                    continue;
                }
                for (int r = 0; r < R; r++) { // decodeShorts plus a short-to-float loop cost 5x as much (not vectorised)
                    w.decodeInts(r0 + r, wq, r * cols, wsc, r * blocks);
                }
                for (int tile = 0; tile < tiles; tile++) {
                    int xOff = AlignedFloats.FIRST + tile * cols * TT;
                    scales(wsc, blocks, dt, tile * blocks * TT, sc);
                    for (int lane = 0; lane < LANES; lane++) {
                        kernel8(wq, cols, xt, xOff, sc, acc, lane, blocks);
                    }
                    finish(acc, tile, batch, out, rows, r0, sums);
                }
            }
        });
    }

    /** sc[FIRST + (blk*R + r)*TT + t] = d_w[r][blk] * d_a[t][blk]: the matvec's very float multiply. */
    private static void scales(float[] ws, int blocks, float[] dt, int dOff, float[] sc) {
        for (int blk = 0; blk < blocks; blk++) {
            FloatVector d = FloatVector.fromArray(F, dt, dOff + blk * TT);
            for (int r = 0; r < R; r++) {
                FloatVector.broadcast(F, ws[r * blocks + blk]).mul(d).intoArray(sc, AlignedFloats.FIRST + (blk * R + r) * TT);
            }
        }
    }

    /**
     * Lane {@code lane} of the group's 8 rows against the tile's token vector, over all blocks: per
     * block the lane's 4 products summed exactly, then acc = fma(sum, scale, acc). Named locals, since
     * an array of vectors would be boxed; every index is an invariant plus blk times a constant, so C2
     * hoists the range checks.
     */
    private static void kernel8(float[] wq, int cols, float[] xt, int xOff, float[] sc, float[] acc, int lane, int blocks) {
        int w0 = 2 * lane, w1 = w0 + cols, w2 = w1 + cols, w3 = w2 + cols;
        int w4 = w3 + cols, w5 = w4 + cols, w6 = w5 + cols, w7 = w6 + cols;
        int xBase = xOff + lane * blocks * 4 * TT;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int blk = 0; blk < blocks; blk++) {
            int xi = xBase + blk * (4 * TT), o = blk * BLOCK, s = AlignedFloats.FIRST + blk * (R * TT);
            FloatVector x = FloatVector.fromArray(F, xt, xi);
            FloatVector p0 = FloatVector.broadcast(F, wq[w0 + o]).mul(x);
            FloatVector p1 = FloatVector.broadcast(F, wq[w1 + o]).mul(x);
            FloatVector p2 = FloatVector.broadcast(F, wq[w2 + o]).mul(x);
            FloatVector p3 = FloatVector.broadcast(F, wq[w3 + o]).mul(x);
            FloatVector p4 = FloatVector.broadcast(F, wq[w4 + o]).mul(x);
            FloatVector p5 = FloatVector.broadcast(F, wq[w5 + o]).mul(x);
            FloatVector p6 = FloatVector.broadcast(F, wq[w6 + o]).mul(x);
            FloatVector p7 = FloatVector.broadcast(F, wq[w7 + o]).mul(x);
            x = FloatVector.fromArray(F, xt, xi + TT);
            p0 = FloatVector.broadcast(F, wq[w0 + o + 1]).fma(x, p0);
            p1 = FloatVector.broadcast(F, wq[w1 + o + 1]).fma(x, p1);
            p2 = FloatVector.broadcast(F, wq[w2 + o + 1]).fma(x, p2);
            p3 = FloatVector.broadcast(F, wq[w3 + o + 1]).fma(x, p3);
            p4 = FloatVector.broadcast(F, wq[w4 + o + 1]).fma(x, p4);
            p5 = FloatVector.broadcast(F, wq[w5 + o + 1]).fma(x, p5);
            p6 = FloatVector.broadcast(F, wq[w6 + o + 1]).fma(x, p6);
            p7 = FloatVector.broadcast(F, wq[w7 + o + 1]).fma(x, p7);
            x = FloatVector.fromArray(F, xt, xi + 2 * TT);
            p0 = FloatVector.broadcast(F, wq[w0 + o + 16]).fma(x, p0);
            p1 = FloatVector.broadcast(F, wq[w1 + o + 16]).fma(x, p1);
            p2 = FloatVector.broadcast(F, wq[w2 + o + 16]).fma(x, p2);
            p3 = FloatVector.broadcast(F, wq[w3 + o + 16]).fma(x, p3);
            p4 = FloatVector.broadcast(F, wq[w4 + o + 16]).fma(x, p4);
            p5 = FloatVector.broadcast(F, wq[w5 + o + 16]).fma(x, p5);
            p6 = FloatVector.broadcast(F, wq[w6 + o + 16]).fma(x, p6);
            p7 = FloatVector.broadcast(F, wq[w7 + o + 16]).fma(x, p7);
            x = FloatVector.fromArray(F, xt, xi + 3 * TT);
            p0 = FloatVector.broadcast(F, wq[w0 + o + 17]).fma(x, p0);
            p1 = FloatVector.broadcast(F, wq[w1 + o + 17]).fma(x, p1);
            p2 = FloatVector.broadcast(F, wq[w2 + o + 17]).fma(x, p2);
            p3 = FloatVector.broadcast(F, wq[w3 + o + 17]).fma(x, p3);
            p4 = FloatVector.broadcast(F, wq[w4 + o + 17]).fma(x, p4);
            p5 = FloatVector.broadcast(F, wq[w5 + o + 17]).fma(x, p5);
            p6 = FloatVector.broadcast(F, wq[w6 + o + 17]).fma(x, p6);
            p7 = FloatVector.broadcast(F, wq[w7 + o + 17]).fma(x, p7);
            a0 = p0.fma(FloatVector.fromArray(F, sc, s), a0);
            a1 = p1.fma(FloatVector.fromArray(F, sc, s + TT), a1);
            a2 = p2.fma(FloatVector.fromArray(F, sc, s + 2 * TT), a2);
            a3 = p3.fma(FloatVector.fromArray(F, sc, s + 3 * TT), a3);
            a4 = p4.fma(FloatVector.fromArray(F, sc, s + 4 * TT), a4);
            a5 = p5.fma(FloatVector.fromArray(F, sc, s + 5 * TT), a5);
            a6 = p6.fma(FloatVector.fromArray(F, sc, s + 6 * TT), a6);
            a7 = p7.fma(FloatVector.fromArray(F, sc, s + 7 * TT), a7);
        }
        int o = lane * R * TT;
        a0.intoArray(acc, o);
        a1.intoArray(acc, o + TT);
        a2.intoArray(acc, o + 2 * TT);
        a3.intoArray(acc, o + 3 * TT);
        a4.intoArray(acc, o + 4 * TT);
        a5.intoArray(acc, o + 5 * TT);
        a6.intoArray(acc, o + 6 * TT);
        a7.intoArray(acc, o + 7 * TT);
    }

    /**
     * IntDot's butterfly over the 8 lane accumulators, per (row, token), into out (padding tokens
     * dropped): the 8 rows' sums go through sums[r*TT + t] and out to each token's 8 consecutive
     * floats; stored a row at a time (16 tokens, 16 cache lines of out, 4 bytes each from a vector
     * just stored) the finish took 7 % of a 16-token matmul.
     */
    private static void finish(float[] acc, int tile, int batch, float[] out, int rows, int r0, float[] sums) {
        int stride = R * TT, t0 = tile * TT, n = Math.min(TT, batch - t0);
        for (int r = 0; r < R; r++) {
            int o = r * TT;
            FloatVector t0v = lane(acc, 0, stride, o).add(lane(acc, 4, stride, o));
            FloatVector t1v = lane(acc, 1, stride, o).add(lane(acc, 5, stride, o));
            FloatVector t2v = lane(acc, 2, stride, o).add(lane(acc, 6, stride, o));
            FloatVector t3v = lane(acc, 3, stride, o).add(lane(acc, 7, stride, o));
            t0v.add(t2v).add(t1v.add(t3v)).intoArray(sums, o);
        }
        for (int i = 0; i < n; i++) {
            int d = (t0 + i) * rows + r0;
            out[d] = sums[i];
            out[d + 1] = sums[TT + i];
            out[d + 2] = sums[2 * TT + i];
            out[d + 3] = sums[3 * TT + i];
            out[d + 4] = sums[4 * TT + i];
            out[d + 5] = sums[5 * TT + i];
            out[d + 6] = sums[6 * TT + i];
            out[d + 7] = sums[7 * TT + i];
        }
    }

    private static FloatVector lane(float[] acc, int lane, int stride, int o) {
        return FloatVector.fromArray(F, acc, lane * stride + o);
    }
}
