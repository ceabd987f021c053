package dev.tandem.kernels;

import java.util.Objects;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Activations quantized to Q8_K for the K-quant integer dots: blocks of 256 values, each
 * value ~ d * q with a float d per block and q in [-127, 127], plus the sums of q over every 16
 * values (the K-quants subtract their mins per 16- or 32-value sub-block, and those sums turn that
 * into one multiply per sub-block).
 *
 * <p>Quantized once per matvec (or per token of a matmul) and then read by every row. Blocks are
 * independent, so a token's blocks quantize the same whether alone or inside a batch, and the
 * scalar and vector blocks give the same bits (Q8_KActivationsTest).
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

    private volatile short[] q6KLanes;

    /**
     * qs in {@link SubBlockLanes#Q6_K}'s order, made by the first caller and kept (a racing caller
     * makes the same values).
     */
    short[] q6KLanes() {
        short[] lanes = q6KLanes;
        if (lanes == null) {
            q6KLanes = lanes = SubBlockLanes.toLanes(qs, SubBlockLanes.Q6_K);
        }
        return lanes;
    }

    private volatile short[] q6KBias;

    /**
     * Per block 64 shorts: lane i of the first 32 is -32 times the sum of lane i of the even 32-short
     * vectors of {@link #q6KLanes} (the vectors at 0, 64, 128, 192), of the second 32 the odd ones'
     * (32, 96, 160, 224); |each| &lt;= 32 * 4 * 127. Q6_K's 6-bit kernel starts its 16-bit sums of
     * (q + 32) * x there, so they come out as the sums of (q - 32) * x. Made by the first caller and
     * kept, as {@link #q6KLanes}.
     */
    short[] q6KBias() {
        short[] bias = q6KBias;
        if (bias == null) {
            short[] lanes = q6KLanes();
            bias = new short[lanes.length / 4];
            for (int b = 0; b < lanes.length / BLOCK; b++) {
                for (int i = 0; i < 64; i++) { // i < 32: even vectors, lane i; i >= 32: odd vectors, lane i - 32
                    int from = b * BLOCK + i, sum = 0;
                    for (int v = 0; v < 4; v++) {
                        sum += lanes[from + 64 * v];
                    }
                    bias[b * 64 + i] = (short) (-32 * sum);
                }
            }
            q6KBias = bias;
        }
        return bias;
    }

    private volatile short[] q4KLanes;

    /** qs in {@link SubBlockLanes#Q4_K}'s order, as {@link #q6KLanes}. */
    short[] q4KLanes() {
        short[] lanes = q4KLanes;
        if (lanes == null) {
            q4KLanes = lanes = SubBlockLanes.toLanes(qs, SubBlockLanes.Q4_K);
        }
        return lanes;
    }

    private volatile short[] q4KFolded;

    /**
     * {@link #q4KLanes} with each run of 32 high-nibble activations (positions 64c + 32 to 64c + 63 of a
     * block) replaced by xh - 16 * xl, xl the run of 32 before it (|each| &lt;= 17 * 127): a weight byte
     * B = lo + 16 * hi then gives lo * xl + hi * xh as B * xl + hi * (xh - 16 * xl), with no mask of the
     * low nibble. The 16-bit sums wrap on the way but end at the same exact integers. Made by the first
     * caller and kept, as {@link #q6KLanes}; folded in place from qs, so a matvec that only needs this
     * form does not also build and keep the unfolded one.
     */
    short[] q4KFoldedLanes() {
        short[] folded = q4KFolded;
        if (folded == null) {
            folded = SubBlockLanes.toLanes(qs, SubBlockLanes.Q4_K);
            for (int run = 0; run + 64 <= folded.length; run += 64) {
                for (int i = 0; i < 32; i++) {
                    folded[run + 32 + i] = (short) (folded[run + 32 + i] - 16 * folded[run + i]);
                }
            }
            q4KFolded = folded;
        }
        return folded;
    }

    private volatile int[] pairSumsTwice;

    /**
     * Each block's 8 {@link #pairSums} twice over (16 per block), so one 512-bit multiply takes two
     * rows' mins; made by the first caller and kept, as {@link #q6KLanes}.
     */
    int[] pairSumsTwice() {
        int[] twice = pairSumsTwice;
        if (twice == null) {
            int pairs = BLOCK / (2 * SUB);
            twice = new int[2 * pairSums.length];
            for (int b = 0; b < pairSums.length / pairs; b++) {
                for (int p = 0; p < pairs; p++) {
                    int sum = pairSums[b * pairs + p];
                    twice[2 * b * pairs + p] = sum;
                    twice[2 * b * pairs + pairs + p] = sum;
                }
            }
            pairSumsTwice = twice;
        }
        return twice;
    }

    private Q8_KActivations(int blocks) {
        d = new float[blocks];
        q = new byte[blocks * BLOCK];
        qs = new short[blocks * BLOCK];
        bsums = new int[blocks * (BLOCK / SUB)];
        pairSums = new int[blocks * (BLOCK / (2 * SUB))];
    }

    /** Quantizes x[off, off+n); n must be a multiple of 256. Scalar code, for a cold start's twins. */
    static Q8_KActivations quantize(float[] x, int off, int n) {
        return quantize(x, off, n, false);
    }

    /**
     * {@link #quantize}, the same bits, with vector blocks when {@code vector} (the kernels are warm):
     * a matvec's quantization is serial work on the calling thread while the workers wait, 5 % of a
     * stories110M Q4_K_M decode step's samples in scalar code.
     */
    static Q8_KActivations quantize(float[] x, int off, int n, boolean vector) {
        Objects.checkFromIndexSize(off, n, x.length);
        if (n % BLOCK != 0) {
            throw new IllegalArgumentException("Q8_K needs a multiple of " + BLOCK + " values, got " + n);
        }
        Q8_KActivations a = new Q8_KActivations(n / BLOCK);
        boolean vectorBlocks = vector && VECTOR;
        for (int blk = 0; blk < n / BLOCK; blk++) {
            if (vectorBlocks) {
                a.quantizeBlockVector(x, off + blk * BLOCK, blk);
            } else {
                a.quantizeBlock(x, off + blk * BLOCK, blk);
            }
        }
        return a;
    }

    /** Vector blocks need float vectors that divide a 16-value run, and a short species of as many lanes. */
    private static final boolean VECTOR = Vec.ENABLED && Vec.FL >= 4 && SUB % Vec.FL == 0 && Vec.S_PARTS == 1;

    /**
     * {@link #quantizeBlock} with vectors. The maximum of |x| is the int maximum of its bits (the
     * float order for floats without a sign bit; FloatVector's max runs slowly at 512 bits), and
     * |x * 127/amax| rounds to at most 127, so
     * the scalar clamp never acts and is left out; the rounding is Math.rint's (ties to even) by the
     * 1.5 * 2^23 addition; the sums of 16 integers are exact in any order.
     */
    private void quantizeBlockVector(float[] x, int from, int blk) {
        // No vector is carried from one iteration to the next: C2 could not bind the calls on such a
        // loop's vector to a concrete class, left them out of line, and the block ran 1.6x slower
        // than the scalar one (PrintInlining: "no static binding"). Each vector is reduced on its own:
        // 0.50 us for 768 values against 1.2 us with a 16-step vector maximum and 1.6 us scalar.
        int maxBits = 0;
        for (int i = 0; i < BLOCK; i += Vec.FL) {
            IntVector bits = (IntVector) FloatVector.fromArray(Vec.F, x, from + i).abs().reinterpretAsInts();
            maxBits = Math.max(maxBits, bits.reduceLanes(VectorOperators.MAX));
        }
        float amax = Float.intBitsToFloat(maxBits);
        float id = 127f / amax;
        if (maxBits == 0 || maxBits >= Q8Activations.INFINITY_BITS || id == Float.POSITIVE_INFINITY) {
            quantizeBlock(x, from, blk); // zero, infinite or NaN; or a subnormal maximum, where x * id is infinite
            return;
        }
        d[blk] = amax / 127f;
        int qBase = blk * BLOCK;
        int sBase = blk * (BLOCK / SUB);
        for (int s = 0; s < BLOCK / SUB; s++) {
            int sum = 0;
            for (int i = s * SUB; i < (s + 1) * SUB; i += Vec.FL) {
                FloatVector v = FloatVector.fromArray(Vec.F, x, from + i).mul(id).add(Q8Activations.ROUND_MAGIC).sub(Q8Activations.ROUND_MAGIC);
                ((ShortVector) v.convertShape(VectorOperators.F2S, Vec.S, 0)).intoArray(qs, qBase + i);
                sum += (int) v.reduceLanes(VectorOperators.ADD);
            }
            bsums[sBase + s] = sum;
        }
        for (int i = qBase; i < qBase + BLOCK; i++) {
            q[i] = (byte) qs[i];
        }
        for (int p = 0; p < BLOCK / (2 * SUB); p++) {
            pairSums[blk * (BLOCK / (2 * SUB)) + p] = bsums[sBase + 2 * p] + bsums[sBase + 2 * p + 1];
        }
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
