package dev.tandem.kernels;

/**
 * Small batches as batch-1 passes: for a block of rows small enough to stay in a core's cache, each
 * token in turn through the format's own batch-1 kernel ({@link IntDot.Format#dotRows}), so every
 * value is the matvec's by construction and the block's weights come from memory once for all tokens.
 *
 * <p><b>Why.</b> At 512 bits the batch-1 kernels read the paired copy ({@link PairedRows}, {@link
 * PairLanes}), while the batched kernels below the token tiles (a format's two-token pass, {@link
 * TokenPairGemm}) decode the file's blocks in 256-bit lanes: on stories110M Q4_0 a batch of 2 to 8
 * gave fewer tokens a second, all sequences together, than a batch of 1.
 */
final class TokenRows {
    private TokenRows() {}

    /** Bytes of weights a row block holds: twice over in a 48 KiB L1 with the activations it meets. */
    static final int BLOCK_BYTES = 16 * 1024;

    /**
     * Whether a batch of this many tokens takes this path: up to the format's own largest batch
     * (autoMax, measured where its batched kernels start to win) unless tandem.tokenRows sets one for
     * all formats (0: never); only where the batch-1 kernels are the 512-bit paired ones.
     */
    static boolean serves(int batch, int autoMax) {
        return serves(batch, 2, autoMax);
    }

    /** {@link #serves(int, int)} from the format's own smallest batch (autoMin) where tandem.tokenRows is not set. */
    static boolean serves(int batch, int autoMin, int autoMax) {
        int configured = KernelConfig.tokenRows();
        boolean size = configured < 0 ? batch >= Math.max(2, autoMin) && batch <= autoMax : batch >= 2 && batch <= configured;
        return size && PairLanes.ENABLED && KernelConfig.pairRows();
    }

    /** out[t*rows + r] = w.dotRows' value of row r for token t, for r in [start, end) and every token t. */
    static void rows(IntDot.Format w, int start, int end, Q8Activations a, float[] out) {
        int rows = w.rows(), batch = a.rows();
        // An even block keeps the paired kernels' row pairs whole.
        int block = Math.max(2, (int) Math.min(rows, BLOCK_BYTES / Math.max(1, ((WeightMatrix) w).format().bytesFor(w.cols()))) & ~1);
        for (int r = start; r < end; r += block) {
            int to = Math.min(end, r + block);
            for (int t = 0; t < batch; t++) {
                w.dotRows(r, to, a, t, out, t * rows);
            }
        }
    }
}
