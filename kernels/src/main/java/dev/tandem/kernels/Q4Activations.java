package dev.tandem.kernels;

/**
 * {@link Q8Activations} rearranged so that a Q4_0 block's packed bytes multiply them unmasked and
 * unrecentred; built once per matvec (on first use, from the 8-bit integers q) for
 * {@link Q4_0Matrix#dotQ8}.
 *
 * <p>Why: byte m of a Q4_0 block is n = lo + 16*hi (unsigned nibbles), weighting element m with lo-8
 * and element 16+m with hi-8. With high[m] = q[16+m] - 16*q[m]:
 * n*q[m] + hi*high[m] = lo*q[m] + hi*q[16+m], so the kernel multiplies the zero-extended byte and its
 * high nibble (one shift, no mask: two vector operations fewer per block than recentring both
 * nibbles), and after pairing subtracts offset[k] = 8*(q[2k] + q[2k+1] + q[16+2k] + q[17+2k]) from
 * {@link IntDot}'s lane k for the -8 of the nibbles. Lane k is then the same exact integer as with
 * recentred nibbles, so the results are bit for bit those of the scalar reference.
 *
 * <p>Ranges: |high| &lt;= 127 + 16*127 = 2159; n*q[m] and hi*high[m] are at most 255*127 and
 * 15*2159 (both &lt; 2^15), and 16-bit sums wrap, so only their sum lo*q[m] + hi*q[16+m] must fit:
 * at most 2*15*127 = 3810, and two adjacent lanes below 2^15 ({@link IntDot#pairsNarrow}'s bound).
 *
 * <p>Layout: arrays per activation row, indexed from 0, so the kernel's loop carries no row base
 * (with bases, C2's loop ran ~10% slower per block in a JIT-warm microbenchmark; a single array of 48
 * shorts per block, offsets subtracted as shorts before pairing, ~35% slower; reasons not pinned down).
 */
final class Q4Activations {
    /** Per activation row t, per block b, 32 shorts from b*32: q[0..16), then high[0..16). */
    final short[][] acts;
    /** Per activation row t, per block b, 8 ints from b*8: offset[0..8). */
    final int[][] offsets;
    /** Per activation row t, the block scales d (Q8Activations' own, per row). */
    final float[][] scales;
    /**
     * For {@link PairLanes}' form, built on its first use ({@link #paired}): matmuls of several tokens
     * that never reach the batch-1 paired kernel do not pay for it. Threads that race build identical ones.
     */
    private volatile Doubled doubled;

    /**
     * Per activation row t, per block b: acts, 64 shorts from b*64 (q[0..16) twice, then high[0..16)
     * twice, so one 512-bit load meets both rows of a pair), and offsets, 16 ints from b*16
     * (offset[0..8) twice).
     */
    record Doubled(short[][] acts, int[][] offsets) {}

    private Q4Activations(short[][] acts, int[][] offsets, float[][] scales) {
        this.acts = acts;
        this.offsets = offsets;
        this.scales = scales;
    }

    /** The doubled rows {@link PairLanes}' Q4_0 kernel multiplies. */
    Doubled paired() {
        Doubled d = doubled;
        if (d == null) {
            int rows = acts.length, cols = rows == 0 ? 0 : acts[0].length, blocks = cols / Q8Activations.BLOCK;
            short[][] pairActs = new short[rows][2 * cols];
            int[][] pairOffsets = new int[rows][blocks * 16];
            // Plain loops, not System.arraycopy: six copies of 8-16 elements a block were call
            // overhead, on the calling thread while the workers waited.
            for (int t = 0; t < rows; t++) {
                short[] from = acts[t], to = pairActs[t];
                int[] fromOffsets = offsets[t], toOffsets = pairOffsets[t];
                for (int b = 0; b < blocks; b++) {
                    for (int m = 0; m < 16; m++) {
                        short lo = from[b * 32 + m], hi = from[b * 32 + 16 + m];
                        to[b * 64 + m] = lo;
                        to[b * 64 + 16 + m] = lo;
                        to[b * 64 + 32 + m] = hi;
                        to[b * 64 + 48 + m] = hi;
                    }
                    for (int k = 0; k < 8; k++) {
                        toOffsets[b * 16 + k] = fromOffsets[b * 8 + k];
                        toOffsets[b * 16 + 8 + k] = fromOffsets[b * 8 + k];
                    }
                }
            }
            doubled = d = new Doubled(pairActs, pairOffsets);
        }
        return d;
    }

    static Q4Activations of(Q8Activations a) {
        int rows = a.rows(), cols = a.cols(), blocks = cols / Q8Activations.BLOCK;
        short[][] acts = new short[rows][cols];
        int[][] offsets = new int[rows][blocks * 8];
        float[][] scales = new float[rows][];
        short[] q = a.q;
        for (int t = 0; t < rows; t++) {
            scales[t] = java.util.Arrays.copyOfRange(a.d, t * blocks, (t + 1) * blocks);
            short[] rowActs = acts[t];
            int[] rowOffsets = offsets[t];
            int base = t * cols;
            for (int b = 0; b < blocks; b++) {
                int j = b * Q8Activations.BLOCK;
                for (int m = 0; m < 16; m++) {
                    rowActs[j + m] = q[base + j + m];
                    rowActs[j + 16 + m] = (short) (q[base + j + 16 + m] - 16 * q[base + j + m]);
                }
                for (int k = 0; k < 8; k++) {
                    int i = base + j + 2 * k;
                    rowOffsets[b * 8 + k] = 8 * (q[i] + q[i + 1] + q[i + 16] + q[i + 17]);
                }
            }
        }
        return new Q4Activations(acts, offsets, scales);
    }
}
