package dev.tandem.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;

/**
 * The integer-dot formats' matmul for batches below {@link IntGemm}'s (batched decode, Q8_0 and
 * Q4_0): each weight row is widened once per matmul into an L1-resident array of shorts (its block
 * scales into floats), then multiplied against the batch's tokens two at a time with exactly
 * {@link IntDot}'s operations (16-bit products, adjacent lanes paired into ints, int to float, one
 * fma with the block pair's scale d_w*d_a per block, the butterfly), so every value is the matvec's
 * bit for bit.
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
     * tokens, 1.0x at 3, 1.18x at 4, 1.28x at 8, 1.30x at 11 (docs/benchmarks.md).
     */
    static final int MIN_BATCH = 4;

    /** The 256-bit integer form only (a block is two short vectors); IntGemm takes the larger batches. */
    static boolean serves(int batch) {
        return KernelConfig.shortRows() && IntDot.WIDE && batch >= MIN_BATCH && !IntGemm.serves(batch);
    }

    /** out[t*rows + r] = dotQ8(r, a, t) for r in [start, end) and every token t. */
    static void rows(IntDot.Format w, int start, int end, Q8Activations a, float[] out) {
        int rows = w.rows(), cols = w.cols(), blocks = cols / BLOCK, batch = a.rows();
        short[] wq = new short[cols];
        float[] ws = new float[blocks];
        for (int r = start; r < end; r++) {
            w.decodeShorts(r, wq, ws);
            int t = 0;
            for (; t + 1 < batch; t += 2) {
                pair(wq, ws, a.q, a.d, blocks, t, out, rows, r);
            }
            if (t < batch) {
                out[t * rows + r] = one(wq, ws, a.q, a.d, blocks, t);
            }
        }
    }

    /** Tokens t and t+1 against the widened row: each weight vector loaded once for both. */
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

    /** The last token of an odd batch. */
    private static float one(short[] wq, float[] ws, short[] q, float[] d, int blocks, int t) {
        int cols = blocks * BLOCK, q0 = t * cols, d0 = t * blocks;
        FloatVector acc = FloatVector.zero(IntDot.F);
        for (int blk = 0; blk < blocks; blk++) {
            int j = blk * BLOCK;
            acc = IntDot.lanes(IntDot.act(wq, j), IntDot.act(q, q0 + j), IntDot.act(wq, j + 16), IntDot.act(q, q0 + j + 16))
                    .fma(IntDot.scale(ws[blk] * d[d0 + blk]), acc);
        }
        return IntDot.finish(acc);
    }
}
