package dev.tandem.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;

/**
 * The integer-dot formats' matmul for batches below {@link IntGemm}'s (batched decode, Q8_0 and
 * Q4_0): each weight row is widened once per matmul into an L1-resident array of shorts (its block
 * scales into floats), then multiplied against the batch's tokens two at a time (an odd batch's
 * first three together) with exactly {@link IntDot}'s operations (16-bit products, adjacent lanes
 * paired into ints, int to float, one fma with the block pair's scale d_w*d_a per block, the
 * butterfly), so every value is the matvec's bit for bit.
 *
 * <p>Why: the per-row kernel ({@link IntDot.Format#matmulRows}) reads the row from the memory
 * segment for every pair of tokens, and its loop spent ~70 instructions per block and token pair, half
 * of them scalar (segment bounds checks, address arithmetic reloaded from the stack, the f16 scale
 * conversion). From arrays the loop is the integer arithmetic and little else
 * (docs/benchmarks.md, "Batched decode from widened rows").
 */
final class ShortRowGemm {
    private ShortRowGemm() {}

    static final int BLOCK = Q8Activations.BLOCK;
    /**
     * From here the widening pays: one thread, 2048 x 768 Q8_0, against the per-row kernel 0.91x at 2
     * tokens, 1.0x at 3, 1.18x at 4, 1.28x at 8 (docs/benchmarks.md).
     */
    static final int MIN_BATCH = 4;

    /**
     * The 256-bit integer form only (a block is two short vectors); IntGemm takes the larger batches,
     * except one tile of more than {@link IntGemm#ONE_TILE_MAX_COLS} columns, which stays here.
     */
    static boolean serves(int batch, int cols) {
        return KernelConfig.shortRows() && IntDot.WIDE && batch >= MIN_BATCH && !IntGemm.serves(batch, cols);
    }

    /**
     * out[t*rows + r] = dotQ8(r, a, t) for r in [start, end) and every token t, for 2 tokens or more:
     * tokens in pairs, an odd batch's first three together.
     */
    static void rows(IntDot.Format w, int start, int end, Q8Activations a, float[] out) {
        int rows = w.rows(), cols = w.cols(), blocks = cols / BLOCK, batch = a.rows();
        if (batch < 2) {
            throw new IllegalArgumentException("ShortRowGemm needs at least 2 tokens, got " + batch);
        }
        short[] wq = new short[cols];
        float[] ws = new float[blocks];
        int first = (batch & 1) == 1 ? 3 : 0;
        for (int r = start; r < end; r++) {
            w.decodeShorts(r, wq, ws);
            if (first == 3) {
                triple(wq, ws, a.q, a.d, blocks, out, rows, r);
            }
            for (int t = first; t < batch; t += 2) {
                pair(wq, ws, a.q, a.d, blocks, t, out, rows, r);
            }
        }
    }

    /**
     * Tokens t and t+1 against the widened row: each weight vector loaded once for both. (Four tokens
     * a pass ran at half the speed, past C2's node budget.)
     */
    private static void pair(short[] wq, float[] ws, short[] q, float[] d, int blocks, int t, float[] out, int rows, int r) {
        int cols = blocks * BLOCK;
        int q0 = t * cols, q1 = q0 + cols, d0 = t * blocks, d1 = d0 + blocks;
        FloatVector acc0 = FloatVector.zero(IntDot.F), acc1 = acc0;
        for (int blk = 0; blk < blocks; blk++) {
            int j = blk * BLOCK;
            ShortVector w0 = IntDot.act(wq, j), w1 = IntDot.act(wq, j + 16);
            float dw = ws[blk];
            acc0 = IntDot.lanes(w0, IntDot.act(q, q0 + j), w1, IntDot.act(q, q0 + j + 16)).fma(IntDot.scale(dw * d[d0 + blk]), acc0);
            acc1 = IntDot.lanes(w0, IntDot.act(q, q1 + j), w1, IntDot.act(q, q1 + j + 16)).fma(IntDot.scale(dw * d[d1 + blk]), acc1);
        }
        out[t * rows + r] = IntDot.finish(acc0);
        out[(t + 1) * rows + r] = IntDot.finish(acc1);
    }

    /**
     * Tokens 0, 1 and 2 (an odd batch's first three): a lone last token ran at the per-row kernel's
     * rate or below (one thread, 2048 x 768 Q8_0: 9 tokens 11.7 GMAC/s, 13 tokens 12.3 and once 5.9,
     * against 17.2 and 17.0 with this pass; docs/benchmarks.md, "Batched decode from widened rows").
     */
    private static void triple(short[] wq, float[] ws, short[] q, float[] d, int blocks, float[] out, int rows, int r) {
        int cols = blocks * BLOCK;
        int q1 = cols, q2 = 2 * cols, d1 = blocks, d2 = 2 * blocks;
        FloatVector acc0 = FloatVector.zero(IntDot.F), acc1 = acc0, acc2 = acc0;
        for (int blk = 0; blk < blocks; blk++) {
            int j = blk * BLOCK;
            ShortVector w0 = IntDot.act(wq, j), w1 = IntDot.act(wq, j + 16);
            float dw = ws[blk];
            acc0 = IntDot.lanes(w0, IntDot.act(q, j), w1, IntDot.act(q, j + 16)).fma(IntDot.scale(dw * d[blk]), acc0);
            acc1 = IntDot.lanes(w0, IntDot.act(q, q1 + j), w1, IntDot.act(q, q1 + j + 16)).fma(IntDot.scale(dw * d[d1 + blk]), acc1);
            acc2 = IntDot.lanes(w0, IntDot.act(q, q2 + j), w1, IntDot.act(q, q2 + j + 16)).fma(IntDot.scale(dw * d[d2 + blk]), acc2);
        }
        out[r] = IntDot.finish(acc0);
        out[rows + r] = IntDot.finish(acc1);
        out[2 * rows + r] = IntDot.finish(acc2);
    }
}
