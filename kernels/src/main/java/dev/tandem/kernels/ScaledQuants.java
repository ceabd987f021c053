package dev.tandem.kernels;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * What the 512-bit kernels of Q2_K and Q3_K share (each format writes its loops out: see
 * Q2_KMatrix#scaledRows and #decodedDot). A super-block is decoded in 8 chunks of 32 elements into
 * shorts w = sc * q (the chunk's two sub-block scales spread by {@link #C0} to {@link #C7}), multiplied
 * by the activations' shorts ({@link Q8_KActivations#qs}) in 16-bit lanes, each int lane's two
 * products added (sign-extended halves), and the int lanes reduced once a super-block. Batches decode
 * a super-block once for all their tokens; batch 1 multiplies each chunk as it is decoded.
 *
 * <p>Why: their file-layout kernels ({@link KQuantMatrix#scaledSum}) widen 16 weights and 16
 * activations to ints per sub-block and multiply twice (by the activation, then the scale), once
 * per token: TinyLlama Q3_K_M decoded at 0.25x llama.cpp and Q2_K at 0.14x (docs/benchmarks.md).
 *
 * <p>Exact: |sc * q| &lt;= {@link KQuantMatrix#maxScaledQuant} (Q2_K 45, Q3_K 128) and |qx| &lt;= 127,
 * so a pair of products is below 2^15 in magnitude and the int sum is the scalar one whatever the
 * order; the float operations after it are the row dot's ({@link KQuantMatrix#blockValue}), so every
 * result equals {@code rowDot} bit for bit. On where {@link PairLanes#ENABLED} (512 bits in hardware,
 * tandem.widePairs not false).
 */
final class ScaledQuants {
    private ScaledQuants() {}

    static final boolean ENABLED = PairLanes.ENABLED;

    /**
     * The largest batch the row kernels take before KQuantGemm's token tile (the formats report
     * {@link KQuantMatrix#vectorDecode}, so the tile starts right after). kernels-ab one thread 2048 x
     * 2048, the two-vector tile (with the vector panel decode, {@code scaledQuants}) against the rows:
     * Q2_K 0.31x at 8 tokens, 0.71 at 16, 1.02 at 24, 1.28 at 32, 1.56 at 64; Q3_K 0.29, 0.68, 0.97,
     * 1.28, 1.74 (the one-vector tile at 16: 0.96, 0.84).
     */
    static final int UP_TO = 24;

    /** 32 shorts: two 16-value sub-blocks a vector. */
    static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    /** 32 bytes, widened to S. */
    static final VectorSpecies<Byte> B = ByteVector.SPECIES_256;
    /** The paired products' lanes, and Q2_K's 16 mins. */
    static final VectorSpecies<Integer> I = IntVector.SPECIES_512;

    /**
     * C0 to C7: chunk k's scales from the scales vector (lanes 0-15 from lane 2k, lanes 16-31 from lane
     * 2k+1: elements 32k to 32k+31). Fields, not an array: C2 folds a static final shuffle into the
     * instruction, where an array element was loaded and type-checked at every use.
     */
    static final VectorShuffle<Short> C0 = shuffle(0, 1), C1 = shuffle(2, 3), C2 = shuffle(4, 5), C3 = shuffle(6, 7),
            C4 = shuffle(8, 9), C5 = shuffle(10, 11), C6 = shuffle(12, 13), C7 = shuffle(14, 15);

    /** Lanes 0-15 from lane lo, lanes 16-31 from lane hi. From an array, not fromOp: no lambda class to spin (see IntDot#xorLanes). */
    private static VectorShuffle<Short> shuffle(int lo, int hi) {
        int[] from = new int[S.length()];
        for (int i = 0; i < from.length; i++) {
            from[i] = i < 16 ? lo : hi;
        }
        return VectorShuffle.fromArray(S, from, 0);
    }

    /** The shuffle taking lane i from lane from[i] (i &lt; 16; the other lanes from lane 0). */
    static VectorShuffle<Short> lanes(int... from) {
        int[] all = new int[S.length()];
        System.arraycopy(from, 0, all, 0, from.length);
        return VectorShuffle.fromArray(S, all, 0);
    }

    /** A chunk's 32 exact small integers (|v| &lt;= 128) as floats into w[at..at+32): the token tile's panel decode. */
    static void floats(ShortVector v, float[] w, int at) {
        ((FloatVector) v.convertShape(VectorOperators.S2F, FloatVector.SPECIES_512, 0)).intoArray(w, at);
        ((FloatVector) v.convertShape(VectorOperators.S2F, FloatVector.SPECIES_512, 1)).intoArray(w, at + 16);
    }
}
