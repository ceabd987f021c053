package dev.tandem.kernels;

/**
 * A K-quant super-block's 256 weights (in a paired copy) and the Q8_K activations in one order such
 * that, at 512 bits, a lane of every short vector of the super-block belongs to the same sub-block.
 * A batch-1 kernel then adds its 16-bit products vector after vector in their lanes and widens and
 * scales once per super-block, where in element order each vector held other sub-blocks and needed
 * its own widening and scale multiply (docs/benchmarks.md, "Sub-block lanes"). The integer sums are
 * exact either way, so every result keeps its bits.
 */
final class SubBlockLanes {
    private SubBlockLanes() {}

    /** Values in a super-block. */
    static final int QK = WeightFormat.QK_K;

    /**
     * Q6_K (16 sub-blocks of 16): element 16s + 2j + t at position 32j + 2s + t, so short vector j
     * (of 8) holds elements 2j and 2j+1 of every sub-block, sub-block s in lanes 2s and 2s+1: |q - 32|
     * * 127 * 8 = 32512 fits a short lane across all 8 vectors.
     */
    static final int[] Q6_K = positions(16, 2);

    /** positionOf[e] for sub-blocks of subSize values, lanesPerSub lanes of each in every 32-lane vector. */
    private static int[] positions(int subSize, int lanesPerSub) {
        int[] at = new int[QK];
        int vectors = QK / 32;
        for (int e = 0; e < QK; e++) {
            int s = e / subSize, i = e % subSize;
            int j = i / lanesPerSub, t = i % lanesPerSub;
            at[e] = 32 * j + lanesPerSub * s + t;
            assert j < vectors;
        }
        return at;
    }

    /** dst[dstOff + positionOf[e]] = src[srcOff + e] for one super-block. */
    static void toLanes(byte[] src, int srcOff, byte[] dst, int dstOff, int[] positionOf) {
        for (int e = 0; e < QK; e++) {
            dst[dstOff + positionOf[e]] = src[srcOff + e];
        }
    }

    /** dst[dstOff + e] = src[srcOff + positionOf[e]] for one super-block: back to element order. */
    static void toElements(byte[] src, int srcOff, byte[] dst, int dstOff, int[] positionOf) {
        for (int e = 0; e < QK; e++) {
            dst[dstOff + e] = src[srcOff + positionOf[e]];
        }
    }

    /** Every super-block of qs in the lane order. */
    static short[] toLanes(short[] qs, int[] positionOf) {
        short[] lanes = new short[qs.length];
        for (int b = 0; b + QK <= qs.length; b += QK) {
            for (int e = 0; e < QK; e++) {
                lanes[b + positionOf[e]] = qs[b + e];
            }
        }
        return lanes;
    }
}
