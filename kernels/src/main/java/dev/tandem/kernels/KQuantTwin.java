package dev.tandem.kernels;

import static dev.tandem.kernels.KQuantMatrix.QK;
import static dev.tandem.kernels.KQuantMatrix.SUBS;

import java.util.Arrays;

/**
 * The K-quants' cold-start twin ({@link ColdStart}): out[outOff + t*rows + r] = rowDot(r, a, t *
 * cols/256, false) for every row and token t, bit for bit: per super-block the same exact integer
 * sum (in another order, which an integer sum does not see) and the same blockValue, added in the
 * same order. One shared loop for every format is fine here: it holds no vectors for C2 to fail to
 * intrinsify (see {@link KQuantMatrix#rowsTask}).
 *
 * <p>Each row is copied out of the mapping once ({@link ColdTwins#row}) and its super-blocks read
 * from the heap copy, as the Q8_0 and Q4_0 twins do. Read through checked segment accesses (about
 * 40 a Q4_K super-block for its scales, D and M) the twins ran a cold stories110M Q4_K_M token at
 * ~0.25 G multiply-adds a second, 3-5x slower than the same loops warm, and its first token took
 * ~330 ms against Q8_0's ~130 (docs/benchmarks.md, "Cold first token of the K-quants").
 */
final class KQuantTwin {
    private KQuantTwin() {}

    /** The pool's task for the rows of a matvec (batch 1) or matmul (batch tokens) of w. */
    static Parallel.RangeBody task(KQuantMatrix w, Q8_KActivations a, int batch, float[] out, int outOff) {
        int[] qx = new int[a.q.length]; // the activations widened once: an int-by-int dot was faster than widening bytes in it
        for (int i = 0; i < qx.length; i++) {
            qx[i] = a.q[i];
        }
        return new Rows(w, a, qx, batch, out, outOff);
    }

    /** The task as a record, not a lambda, whose class would be spun inside the cold first token (the AOT cache holds no lambda classes). */
    private record Rows(KQuantMatrix w, Q8_KActivations a, int[] qx, int batch, float[] out, int outOff) implements Parallel.RangeBody {
        @Override
        public void run(int start, int end) {
            rows(w, start, end, a, qx, batch, out, outOff);
        }
    }

    /**
     * Rows [start, end) for every token (qx: a.q as ints). Each super-block's quants are unpacked once
     * for all tokens: rowDot's scalar form read every weight from the mapping once per token, and a
     * cold stories110M Q4_K_M prompt of 15 tokens spent ~1.8 s before its first token (Q8_0: 0.6 s).
     */
    private static void rows(KQuantMatrix w, int start, int end, Q8_KActivations a, int[] qx, int batch, float[] out, int outOff) {
        int[] q = new int[QK], sc = new int[SUBS], m = new int[SUBS];
        float[] sums = new float[batch];
        for (int r = start; r < end; r++) {
            row(w, r, a, qx, batch, q, sc, m, sums);
            for (int t = 0; t < batch; t++) {
                out[outOff + t * w.rows + r] = sums[t];
            }
        }
    }

    /**
     * Row r's sums for every token into sums (q, sc, m scratch). Its own method, kept out of line
     * (scripts/kernels.compile-commands), so that C2 compiles it once as a method: as part of the
     * row loop it was compiled on stack replacement at each of the loops (3-4 compiles of ~45 ms of
     * C2 each, inside a ~250 ms first token on two cores).
     */
    private static void row(KQuantMatrix w, int r, Q8_KActivations a, int[] qx, int batch, int[] q, int[] sc, int[] m, float[] sums) {
        int blocks = w.cols / QK, blockBytes = w.blockBytes;
        boolean mins = w.hasMins();
        Arrays.fill(sums, 0f);
        byte[] bytes = ColdTwins.row(w.data, w.rowOffset(r), Math.toIntExact(w.rowBytes));
        for (int blk = 0; blk < blocks; blk++) {
            int at = blk * blockBytes;
            w.scales(bytes, at, sc, m);
            if (batch > 1) { // unpacked, the scales folded in, once for all tokens (for one token twinDot does it in its pass)
                w.quants(bytes, at, q);
                for (int e = 0; e < QK; e++) {
                    q[e] *= sc[e >>> 4]; // |sc * q| <= maxScaledQuant() <= 4,096 (Q6_K): 256 products by |qx| <= 127 stay below 2^31
                }
            }
            float d = w.superScale(bytes, at), dMin = mins ? w.superMin(bytes, at) : 0f;
            for (int t = 0; t < batch; t++) {
                int ab = t * blocks + blk;
                int isum = batch > 1 ? scaledDot(q, qx, ab * QK) : w.twinDot(bytes, at, sc, qx, ab * QK, a.bsums, ab * SUBS);
                sums[t] += KQuantMatrix.blockValue(mins, d, dMin, a.d[ab], isum,
                        mins ? KQuantMatrix.minSum(m, a.bsums, ab * SUBS) : 0);
            }
        }
    }

    /**
     * sum_e q[e] * qx[x + e] over a super-block (q already times its sub-block scales). A method of
     * its own, like the formats' twinDot, so that the JIT compiles it after a few super-blocks instead
     * of waiting for an on-stack replacement of the long row loop around it.
     */
    private static int scaledDot(int[] q, int[] qx, int x) {
        int isum = 0;
        for (int e = 0; e < QK; e++) {
            isum += q[e] * qx[x + e];
        }
        return isum;
    }
}
