package dev.tandem.kernels;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The 512-bit form of the paired-row batch-1 kernels ({@link PairedRows}): one vector holds a row
 * pair's {@link IntDot} lanes, row 2p's 8 lanes in lanes 0-7 and row 2p+1's in lanes 8-15. Each lane
 * gets the same exact integer, the same scale product and the same fused multiply-add, block after
 * block, as in the 256-bit form (one vector per row), and {@link #finish} performs each half's
 * butterfly in the same order, so every result keeps its bits; only the instruction count halves.
 *
 * <p>Why: the kernels were shaped on a 256-bit AVX2 machine. On one with full 512-bit datapaths
 * (Zen 5) the batch-1 decode is compute-bound, and a paired block (row 2p's payload, then row
 * 2p+1's) is exactly one 512-bit vector of shorts.
 *
 * <p>On when the float species is 512 bits and tandem.widePairs is not false (the switch is for A/B
 * runs and for testing the 256-bit forms on a 512-bit machine); needs paired rows.
 */
final class PairLanes {
    private PairLanes() {}

    /** Whether the paired kernels run their 512-bit form. */
    static final boolean ENABLED = IntDot.WIDE && KernelConfig.vectorBits() >= 512 && KernelConfig.widePairs();

    static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    /** As many bytes as S has shorts. */
    static final VectorSpecies<Byte> B = ByteVector.SPECIES_256;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    static final VectorSpecies<Float> F = FloatVector.SPECIES_512;

    /**
     * Lanes 2k and 2k+1 of two int vectors side by side (selectFrom's indexes 16-31 are the second's):
     * EVEN_LANES.selectFrom(u, v) + ODD_LANES.selectFrom(u, v) halves two vectors' lanes into one, so a
     * few such steps leave several exact integer sums in the low lanes for the price of about one
     * reduceLanes (the K-quant kernels' per-block scaled sums and min sums).
     */
    static final IntVector EVEN_LANES = IntVector.fromArray(I, java.util.stream.IntStream.range(0, 16).map(k -> 2 * k).toArray(), 0);
    static final IntVector ODD_LANES = IntVector.fromArray(I, java.util.stream.IntStream.range(0, 16).map(k -> 2 * k + 1).toArray(), 0);
    /** Lanes 0-7 of the first vector, then lanes 0-7 of the second (two rows' widened scale bytes). */
    static final IntVector SCALES_OF_BOTH = IntVector.fromArray(I, java.util.stream.IntStream.range(0, 16).map(k -> k < 8 ? k : 8 + k).toArray(), 0);
    /** Lanes 8-15 of the first vector, then lanes 8-15 of the second (two rows' widened min bytes). */
    static final IntVector MINS_OF_BOTH = IntVector.fromArray(I, java.util.stream.IntStream.range(0, 16).map(k -> k < 8 ? 8 + k : 16 + k).toArray(), 0);

    /** An int butterfly within each 8-lane half. */
    static final VectorShuffle<Integer> INT_SWAP4 = VectorShuffle.fromOp(I, i -> i ^ 4);
    static final VectorShuffle<Integer> INT_SWAP2 = VectorShuffle.fromOp(I, i -> i ^ 2);
    static final VectorShuffle<Integer> INT_SWAP1 = VectorShuffle.fromOp(I, i -> i ^ 1);

    /** Lanes 8-15: row 2p+1's half. */
    private static final VectorMask<Float> SECOND = VectorMask.fromLong(F, 0xFF00L);
    /** Lanes 8-15 of ints (Q6_K's second sub-block). */
    static final VectorMask<Integer> SECOND_INT = VectorMask.fromLong(I, 0xFF00L);
    private static final VectorShuffle<Float> SWAP4 = VectorShuffle.fromOp(F, i -> i ^ 4);
    private static final VectorShuffle<Float> SWAP2 = VectorShuffle.fromOp(F, i -> i ^ 2);
    private static final VectorShuffle<Float> SWAP1 = VectorShuffle.fromOp(F, i -> i ^ 1);

    /*
     * The K-quant kernels' "halved order" (Q4_KLanes.dotBlockPairs, the Q4_K and Q5_K token pairs): two row
     * pairs' exact sums, each row's scaled sum (q = 0) and min sum (q = 1), for two blocks or tokens b, in
     * lanes 4b + 2q + row.
     */
    /** Lanes 1 and 5: row 1's scaled sums in the halved order. */
    static final VectorMask<Float> HALVED_ROW_1 = VectorMask.fromLong(F, 0x22L);
    /** Lanes 2 and 6: row 0's min sums. */
    static final VectorMask<Float> HALVED_MIN_ROW_0 = VectorMask.fromLong(F, 0x44L);
    /** Lanes 3 and 7: row 1's min sums. */
    static final VectorMask<Float> HALVED_MIN_ROW_1 = VectorMask.fromLong(F, 0x88L);
    /** Lanes 4-7: the second block or token. */
    static final VectorMask<Float> HALVED_SECOND = VectorMask.fromLong(F, 0xF0L);
    /** Lane k ^ 2: the min term beside each scaled term. */
    static final VectorShuffle<Float> HALVED_MIN_OF_LANE = VectorShuffle.fromOp(F, k -> k ^ 2);

    /**
     * out[outOff + t*rows + r (+ 1 when n == 2)] for tokens t below batch from a paired batch kernel's running
     * sums: token pair t/2's vector at (t/2) * F.length(), token t's row 0 in lane tokenStride * (t mod 2), row
     * 1 beside it.
     */
    static void writeTokenSums(float[] sums, int tokenStride, int batch, int rows, int r, int n, float[] out, int outOff) {
        int fl = F.length();
        for (int t = 0; t < batch; t++) {
            int o = outOff + t * rows + r, lane = (t >> 1) * fl + tokenStride * (t & 1);
            out[o] = sums[lane];
            if (n == 2) {
                out[o + 1] = sums[lane + 1];
            }
        }
    }

    /**
     * s0 * d in lanes 0-7 and s1 * d in 8-15: the same float products as two scalar multiplies, formed
     * in the vector (two broadcasts from memory, a blend, a multiply); the scalar form's multiplies and
     * register broadcasts cost ~10 % of Q4_0's 512-bit decode kernel (docs/benchmarks.md, "Long rows").
     */
    static FloatVector scalesTimes(float s0, float s1, float d) {
        return FloatVector.broadcast(F, s0).blend(s1, SECOND).mul(d);
    }

    /** IntDot's butterfly of lanes 0-7 into out[o] and of lanes 8-15 into out[o + 1]. */
    static void finish(FloatVector acc, float[] out, int o) {
        FloatVector v = acc.add(acc.rearrange(SWAP4));
        v = v.add(v.rearrange(SWAP2));
        v = v.add(v.rearrange(SWAP1));
        out[o] = v.lane(0);
        out[o + 1] = v.lane(8);
    }
}
