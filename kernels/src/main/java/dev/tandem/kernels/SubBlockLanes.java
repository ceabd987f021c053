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
     * Q6_K (16 sub-blocks of 16): element 16s + i at position 32j + 4(s mod 8) + i mod 4 with
     * j = 2(i/4) + s/8, so even vectors hold sub-blocks 0-7 and odd ones 8-15, 4 elements of each in
     * 4 lanes: |q - 32| * 127 * 4 = 16256 fits a short lane over a kernel's 4 even (or odd) vectors,
     * and two lanes' sums an int's upper half; a sub-block's 4-byte groups transpose as ints.
     */
    static final int[] Q6_K = q6KPositions();

    private static int[] q6KPositions() {
        int[] at = new int[QK];
        for (int e = 0; e < QK; e++) {
            int s = e / 16, i = e % 16;
            at[e] = 32 * (2 * (i / 4) + s / 8) + 4 * (s % 8) + i % 4;
        }
        return at;
    }

    /**
     * Q4_K (8 sub-blocks of 32): element 32s + 4j + t at position 32j + 4s + t, so vector j (of 8)
     * holds elements 4j..4j+3 of every sub-block, sub-block s in lanes 4s..4s+3: 15 * 127 * 8 = 15240
     * fits a short lane across all 8 vectors, and two lanes' sums an int's upper half. Q5_K's
     * weights (a byte each, 0-31) take the same order, its kernel adding even and odd vectors apart.
     */
    static final int[] Q4_K = positions(32, 4);

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

    /**
     * Nibbles: 128 bytes of a Q4_K super-block's element order (byte 32c + i: element 64c + i in the
     * low nibble, 64c + 32 + i in the high) at src[srcOff..] into dst[dstOff..] in the lane order
     * ({@link #Q4_K}), where position 32j + l is byte 32(j/2) + l's low nibble for even j, high for odd.
     */
    static void nibblesToLanes(byte[] src, int srcOff, byte[] dst, int dstOff) {
        java.util.Arrays.fill(dst, dstOff, dstOff + QK / 2, (byte) 0);
        for (int e = 0; e < QK; e++) {
            int p = Q4_K[e];
            dst[dstOff + 32 * (p >>> 6) + (p & 31)] |= (byte) (elementNibble(src, srcOff, e) << (4 * ((p >>> 5) & 1)));
        }
    }

    private static int elementNibble(byte[] src, int srcOff, int e) {
        return (src[srcOff + 32 * (e >>> 6) + (e & 31)] >>> (4 * ((e >>> 5) & 1))) & 0x0F;
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
