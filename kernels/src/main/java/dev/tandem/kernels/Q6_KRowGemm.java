package dev.tandem.kernels;

import static dev.tandem.kernels.KQuantMatrix.PAIRS;
import static dev.tandem.kernels.KQuantMatrix.QK;
import static dev.tandem.kernels.KQuantMatrix.SHORTS;
import static dev.tandem.kernels.KQuantMatrix.SUBS;

import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q6_K's matmul for batches below {@link KQuantGemm}'s (batched decode): each weight row is unpacked
 * once per matmul into an L1-resident array of shorts (q+32, in [0, 63], element order) and its
 * sub-block scales into ints, then multiplied against the tokens two at a time with the same
 * integer sums as {@link Q6_KMatrix#scaledSumsWide} and the same float operations as its row dot,
 * so every value is the matvec's bit for bit (the sums are exact integers, so their order is free).
 *
 * <p>Why: below a token tile the per-row kernel ran every token's dot straight from the packed row,
 * unpacking the 6-bit quants (ql nibbles, qh bit pairs) again for each token, so a batch of B cost B
 * matvecs. stories110M's Q4_0 file keeps its classifier (32000 x 768, a fifth of the model's
 * multiply-adds) in Q6_K, as llama.cpp's quantizer does, and at batch 4 that matrix took ~30 % of a
 * decode step's matmul time (docs/benchmarks.md, "Batched decode: the Q6_K classifier, one tile at
 * 2048 columns").
 */
final class Q6_KRowGemm {
    private Q6_KRowGemm() {}

    /** The 256-bit integer form only (a sub-block is one short vector); KQuantGemm takes the larger batches. */
    static boolean serves(int batch) {
        return KernelConfig.shortRows() && IntDot.WIDE && batch >= 2;
    }

    /**
     * out[outOff + b*rows + r] = the row dot of row r and token b, for r in [start, end) and every
     * token of a (batch of them).
     */
    static void rows(Q6_KMatrix w, Q8_KActivations a, int batch, float[] out, int outOff, int start, int end) {
        int rows = w.rows(), cols = w.cols(), blocks = cols / QK;
        short[] u = new short[cols];
        int[] sc = new int[blocks * SUBS];
        float[] d = new float[blocks];
        int[] sums0 = new int[blocks], sums1 = new int[blocks];
        for (int r = start; r < end; r++) {
            w.decodeUnsigned(r, u, sc, d);
            int b = 0;
            for (; b + 1 < batch; b += 2) {
                pair(u, sc, a.qs, a.bsums, b * blocks, (b + 1) * blocks, blocks, sums0, sums1);
                out[outOff + b * rows + r] = value(d, a.d, b * blocks, sums0, blocks);
                out[outOff + (b + 1) * rows + r] = value(d, a.d, (b + 1) * blocks, sums1, blocks);
            }
            if (b < batch) {
                one(u, sc, a.qs, a.bsums, b * blocks, blocks, sums0);
                out[outOff + b * rows + r] = value(d, a.d, b * blocks, sums0, blocks);
            }
        }
    }

    /** Q6_KMatrix's row dot from the super-blocks' integer sums: dx * (D * sum), added in block order. */
    private static float value(float[] d, float[] dx, int blk0, int[] sums, int blocks) {
        float sum = 0f;
        for (int blk = 0; blk < blocks; blk++) {
            sum += dx[blk0 + blk] * (d[blk] * sums[blk]);
        }
        return sum;
    }

    /** {@link #pair}'s sums for one token (an odd batch's last). */
    private static void one(short[] u, int[] sc, short[] qx, int[] bsums, int t0, int blocks, int[] sums0) {
        for (int blk = 0; blk < blocks; blk++) {
            int s0 = blk * SUBS, b0 = (t0 + blk) * SUBS;
            IntVector acc0 = IntVector.zero(PAIRS).sub(IntVector.fromArray(PAIRS, sc, s0).mul(IntVector.fromArray(PAIRS, bsums, b0))
                    .add(IntVector.fromArray(PAIRS, sc, s0 + 8).mul(IntVector.fromArray(PAIRS, bsums, b0 + 8))).lanewise(VectorOperators.LSHL, 5));
            int e = blk * QK, x0 = (t0 + blk) * QK;
            for (int s = 0; s < SUBS; s++) {
                int j = s * 16;
                IntVector p0 = ShortVector.fromArray(SHORTS, u, e + j).mul(ShortVector.fromArray(SHORTS, qx, x0 + j)).reinterpretAsInts();
                acc0 = acc0.add(p0.add(p0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(sc[s0 + s]));
            }
            sums0[blk] = acc0.reduceLanes(VectorOperators.ADD);
        }
    }

    /**
     * The integer sums of every super-block for the tokens whose activation blocks start at blocks
     * t0 and t1: sum_s sc[s] * sum_{e in s} (u_e - 32) * qx_e, as the sum of sc[s] * pairs of the
     * 16-bit products u_e * qx_e (|u*qx| &lt;= 63*127, a pair below 2^15: IntDot.pairsNarrow, written
     * out) less 32 * sum_s sc[s] * bsums[s] (the accumulator's start, as in scaledSumsWide).
     */
    private static void pair(short[] u, int[] sc, short[] qx, int[] bsums, int t0, int t1, int blocks, int[] sums0,
                             int[] sums1) {
        for (int blk = 0; blk < blocks; blk++) {
            int s0 = blk * SUBS, b0 = (t0 + blk) * SUBS, b1 = (t1 + blk) * SUBS;
            IntVector lo = IntVector.fromArray(PAIRS, sc, s0), hi = IntVector.fromArray(PAIRS, sc, s0 + 8);
            IntVector acc0 = IntVector.zero(PAIRS).sub(lo.mul(IntVector.fromArray(PAIRS, bsums, b0))
                    .add(hi.mul(IntVector.fromArray(PAIRS, bsums, b0 + 8))).lanewise(VectorOperators.LSHL, 5));
            IntVector acc1 = IntVector.zero(PAIRS).sub(lo.mul(IntVector.fromArray(PAIRS, bsums, b1))
                    .add(hi.mul(IntVector.fromArray(PAIRS, bsums, b1 + 8))).lanewise(VectorOperators.LSHL, 5));
            int e = blk * QK, x0 = (t0 + blk) * QK, x1 = (t1 + blk) * QK;
            for (int s = 0; s < SUBS; s++) {
                int j = s * 16;
                ShortVector w = ShortVector.fromArray(SHORTS, u, e + j);
                int scale = sc[s0 + s];
                IntVector p0 = w.mul(ShortVector.fromArray(SHORTS, qx, x0 + j)).reinterpretAsInts();
                IntVector p1 = w.mul(ShortVector.fromArray(SHORTS, qx, x1 + j)).reinterpretAsInts();
                acc0 = acc0.add(p0.add(p0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(scale));
                acc1 = acc1.add(p1.add(p1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(scale));
            }
            sums0[blk] = acc0.reduceLanes(VectorOperators.ADD);
            sums1[blk] = acc1.reduceLanes(VectorOperators.ADD);
        }
    }
}
