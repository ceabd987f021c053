package dev.tandem.kernels;

import java.util.Objects;

/**
 * Activations quantized to Q8_K for the K-quant integer dots: blocks of 256 values, each
 * value ~ d * q with a float d per block and q in [-127, 127], plus the sums of q over every 16
 * values (the K-quants subtract their mins per 16- or 32-value sub-block, and those sums turn that
 * into one multiply per sub-block).
 *
 * <p>Quantized once per matvec (or per token of a matmul) and then read by every row, so this is
 * scalar code: it costs cols operations against rows*cols for the dots. Blocks are independent, so
 * a token's blocks quantize the same whether alone or inside a batch.
 */
final class Q8_KActivations {
    static final int BLOCK = WeightFormat.QK_K;
    static final int SUB = 16;

    /** Scale of each block. */
    final float[] d;
    /** The quantized values, BLOCK per block. */
    final byte[] q;
    /** Sum of q over each run of SUB values, BLOCK/SUB per block. */
    final int[] bsums;
    /**
     * Sum of q over each run of 32 values (two bsums), BLOCK/32 per block: the 32-value sub-blocks of
     * Q4_K and Q5_K take their mins from these in one vector multiply ({@link KQuantMatrix#packedMinSumWide}).
     */
    final int[] pairSums;
    /** q widened to shorts, the lane width of the 16-bit product kernels (so they do not widen them per row). */
    final short[] qs;

    private Q8_KActivations(int blocks) {
        d = new float[blocks];
        q = new byte[blocks * BLOCK];
        qs = new short[blocks * BLOCK];
        bsums = new int[blocks * (BLOCK / SUB)];
        pairSums = new int[blocks * (BLOCK / (2 * SUB))];
    }

    /** Quantizes x[off, off+n); n must be a multiple of 256. */
    static Q8_KActivations quantize(float[] x, int off, int n) {
        Objects.checkFromIndexSize(off, n, x.length);
        if (n % BLOCK != 0) {
            throw new IllegalArgumentException("Q8_K needs a multiple of " + BLOCK + " values, got " + n);
        }
        Q8_KActivations a = new Q8_KActivations(n / BLOCK);
        for (int blk = 0; blk < n / BLOCK; blk++) {
            a.quantizeBlock(x, off + blk * BLOCK, blk);
        }
        return a;
    }

    /**
     * d = amax/127 and q = round-to-nearest-even(x * 127/amax): the largest value maps to +-127 and
     * the rounding error of every value is at most d/2. (llama.cpp keeps the sign of the largest value
     * and maps it to -128; either way the bound is the same, and the few values that differ are why
     * the llama.cpp comparison has a tolerance.)
     */
    private void quantizeBlock(float[] x, int from, int blk) {
        float amax = 0f;
        for (int i = 0; i < BLOCK; i++) {
            amax = Math.max(amax, Math.abs(x[from + i]));
        }
        int qBase = blk * BLOCK;
        int sBase = blk * (BLOCK / SUB);
        if (amax == 0f || !Float.isFinite(amax)) {
            // An all-zero block stays zero. A non-finite one would poison the scale for every row;
            // give it d = NaN so the dot is NaN, as a float dot with that input would be.
            d[blk] = amax == 0f ? 0f : Float.NaN;
            return;
        }
        float id = 127f / amax;
        d[blk] = amax / 127f;
        for (int s = 0; s < BLOCK / SUB; s++) {
            int sum = 0;
            for (int i = s * SUB; i < (s + 1) * SUB; i++) {
                int v = (int) Math.rint(x[from + i] * id);
                v = Math.clamp(v, -127, 127);
                q[qBase + i] = (byte) v;
                qs[qBase + i] = (short) v;
                sum += v;
            }
            bsums[sBase + s] = sum;
        }
        for (int p = 0; p < BLOCK / (2 * SUB); p++) {
            pairSums[blk * (BLOCK / (2 * SUB)) + p] = bsums[sBase + 2 * p] + bsums[sBase + 2 * p + 1];
        }
    }

    /** The value block blk, element i stands for: d*q. */
    float value(int blk, int i) {
        return d[blk] * q[blk * BLOCK + i];
    }
}
