package dev.tandem.kernels;

import static dev.tandem.kernels.Vec.F;
import static dev.tandem.kernels.Vec.FL;
import static dev.tandem.kernels.Vec.I;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The K-quants' matmul vectorised over tokens, with exactly {@link KQuantMatrix}'s dot for every
 * (token, row).
 *
 * <p>The dot's per-super-block integer sum, sum_s sc[s] * sum_{e in s} q_e * qx_e, is exact and so
 * order-free. Here each weight is decoded once per panel to sc[s]*q_e as a float (exact: at most
 * 4096 in magnitude), a vector holds FL tokens' activations, and a 4-row x 2-vector register tile
 * does per element 2 activation loads, 4 broadcasts and 8 FMAs. Every partial sum of a group of
 * {@link KQuantMatrix#exactGroup} elements stays below 2^24, so the FMAs are exact; each group's sum
 * is converted to int (exact) and added in int lanes, which gives the dot's integer. The float part
 * (super-block value, then the running sum over super-blocks) is the dot's own
 * {@link KQuantMatrix#blockValue} formula, lanewise.
 */
final class KQuantGemm {
    private KQuantGemm() {}

    static final int TT = 2 * FL;
    static final int R = 4;
    private static final int PANEL = 16;
    private static final int QK = KQuantMatrix.QK;
    private static final int SUBS = KQuantMatrix.SUBS;

    /**
     * Whether the token-tiled kernel serves a batch of this size for w. Formats whose decode is
     * vectorised ({@link KQuantMatrix#vectorDecode}: Q4_K, Q6_K) pay from one vector of tokens (on
     * the AVX2 VM, one thread, Q6_K 4096 x 768: 5.9 against 3.8 GMAC/s per-row at 8 tokens, 11.4 at
     * 16); the others decode a weight at a time, which pays only when shared by a few tiles. Q6_K
     * starts later where {@link Q6_KRowGemm} runs ({@link #minBatch}).
     */
    static boolean serves(KQuantMatrix w, int batch) {
        return KernelConfig.tokenTiles() && Vec.ENABLED && batch >= minBatch(w);
    }

    /**
     * Below a tile, Q6_K's batches run {@link Q6_KRowGemm} where it serves: against a padded tile it
     * ran 1.45x as fast at 8 tokens and the same at 12 (stories110M's 32000 x 768 classifier, two
     * threads; docs/benchmarks.md, "Batched decode: the Q6_K classifier, one tile at 2048 columns").
     */
    static int minBatch(KQuantMatrix w) {
        if (w instanceof Q6_KMatrix && Q6_KRowGemm.serves(MIN_TAIL)) {
            return MIN_TAIL;
        }
        return w.vectorDecode() ? FL : 2 * TT;
    }

    /** Tokens from which a padded tile beats {@link Q6_KRowGemm} (as IntGemm's tail). */
    static final int MIN_TAIL = 3 * TT / 4;

    /** out[t*rows + r] = w.dot(r, x, t*cols) for every row r and token t. */
    static void matmul(KQuantMatrix w, float[] x, float[] out, int batch) {
        int rows = w.rows(), cols = w.cols(), blocks = cols / QK;
        Q8_KActivations a = Q8_KActivations.quantize(x, 0, batch * cols, true);
        int tiles = (batch + TT - 1) / TT;
        float[] xt = new float[tiles * cols * TT];
        float[] dt = new float[tiles * blocks * TT];
        int[] bt = new int[tiles * blocks * SUBS * TT];
        Parallel.forRange(tiles, 1, (start, end) -> {
            for (int tile = start; tile < end; tile++) {
                pack(a, cols, batch, tile, xt, dt, bt);
            }
        });
        int group = w.exactGroup();
        boolean mins = w.hasMins();
        int panels = (rows + PANEL - 1) / PANEL;
        Parallel.forRange(panels, 1, (start, end) -> {
            float[] wq = new float[PANEL * cols];
            float[] dm = new float[PANEL * blocks * 2];
            int[] m = new int[PANEL * blocks * SUBS];
            int[] isum = new int[R * TT];
            float[] sum = new float[R * TT];
            KQuantMatrix.DecodeScratch scratch = new KQuantMatrix.DecodeScratch(w);
            // The panel's results token-major, copied out once per panel (as IntGemm): writing each
            // (token, row) straight into out touched a cache line of out per value, 5 % of a prefill.
            float[] panelOut = new float[tiles * TT * PANEL];
            for (int p = start; p < end; p++) {
                int r0 = p * PANEL, r1 = Math.min(rows, r0 + PANEL);
                int tiled = r0 + (r1 - r0) / R * R;
                for (int r = r0; r < tiled; r++) {
                    w.decodeScaled(r, wq, (r - r0) * cols, dm, (r - r0) * blocks * 2, m, (r - r0) * blocks * SUBS, scratch);
                }
                for (int tile = 0; tile < tiles; tile++) {
                    int xOff = tile * cols * TT;
                    for (int g = r0; g < tiled; g += R) {
                        int i = g - r0;
                        Arrays.fill(sum, 0f);
                        for (int blk = 0; blk < blocks; blk++) {
                            Arrays.fill(isum, 0);
                            for (int e = blk * QK; e < (blk + 1) * QK; e += group) {
                                kernel(wq, i * cols, cols, xt, xOff, e, e + group, isum);
                            }
                            blockValues(isum, dm, i * blocks * 2, blocks, m, i * blocks * SUBS, blk, mins,
                                    dt, tile * blocks * TT, bt, tile * blocks * SUBS * TT, sum);
                        }
                        finish(sum, tile, panelOut, g - r0);
                    }
                }
                for (int t = 0; t < batch; t++) {
                    System.arraycopy(panelOut, t * PANEL, out, t * rows + r0, tiled - r0);
                }
                for (int r = tiled; r < r1; r++) {
                    for (int t = 0; t < batch; t++) {
                        out[t * rows + r] = w.rowDot(r, a, t * blocks, true);
                    }
                }
            }
        });
    }

    /** Tile {@code tile}'s quantized activations (as floats) K-major, its block scales and its 16-value sums; padding stays 0. */
    private static void pack(Q8_KActivations a, int cols, int batch, int tile, float[] xt, float[] dt, int[] bt) {
        int blocks = cols / QK;
        int xOff = tile * cols * TT, dOff = tile * blocks * TT, bOff = tile * blocks * SUBS * TT;
        int t0 = tile * TT, t1 = Math.min(batch, t0 + TT);
        for (int t = t0; t < t1; t++) {
            int c = t - t0;
            for (int j = 0; j < cols; j++) {
                xt[xOff + j * TT + c] = a.q[t * cols + j];
            }
            for (int blk = 0; blk < blocks; blk++) {
                dt[dOff + blk * TT + c] = a.d[t * blocks + blk];
            }
            for (int s = 0; s < blocks * SUBS; s++) {
                bt[bOff + s * TT + c] = a.bsums[t * blocks * SUBS + s];
            }
        }
    }

    /** isum[r][t] += sum over elements [e0, e1) of wq[r][e] * xt[e][t], the group's exact float sum converted to int. */
    private static void kernel(float[] wq, int wOff, int cols, float[] xt, int xOff, int e0, int e1, int[] isum) {
        int w1 = wOff + cols, w2 = w1 + cols, w3 = w2 + cols;
        FloatVector p00 = FloatVector.zero(F), p01 = p00, p10 = p00, p11 = p00;
        FloatVector p20 = p00, p21 = p00, p30 = p00, p31 = p00;
        for (int k = e0; k < e1; k++) {
            int xi = xOff + k * TT;
            FloatVector x0 = FloatVector.fromArray(F, xt, xi);
            FloatVector x1 = FloatVector.fromArray(F, xt, xi + FL);
            FloatVector wv = FloatVector.broadcast(F, wq[wOff + k]);
            p00 = wv.fma(x0, p00);
            p01 = wv.fma(x1, p01);
            wv = FloatVector.broadcast(F, wq[w1 + k]);
            p10 = wv.fma(x0, p10);
            p11 = wv.fma(x1, p11);
            wv = FloatVector.broadcast(F, wq[w2 + k]);
            p20 = wv.fma(x0, p20);
            p21 = wv.fma(x1, p21);
            wv = FloatVector.broadcast(F, wq[w3 + k]);
            p30 = wv.fma(x0, p30);
            p31 = wv.fma(x1, p31);
        }
        addInt(p00, isum, 0);
        addInt(p01, isum, FL);
        addInt(p10, isum, TT);
        addInt(p11, isum, TT + FL);
        addInt(p20, isum, 2 * TT);
        addInt(p21, isum, 2 * TT + FL);
        addInt(p30, isum, 3 * TT);
        addInt(p31, isum, 3 * TT + FL);
    }

    private static void addInt(FloatVector p, int[] isum, int o) {
        IntVector v = (IntVector) p.convert(VectorOperators.F2I, 0);
        v.add(IntVector.fromArray(I, isum, o)).intoArray(isum, o);
    }

    /**
     * sum[r][t] += blockValue: dx * (D * isum - M * minSum) (or dx * (D * isum) without mins), with
     * minSum = sum_s m[s] * bsums[t][s] in ints, the very operations of {@link KQuantMatrix#blockValue}.
     */
    private static void blockValues(int[] isum, float[] dm, int dmOff, int blocks, int[] m, int mOff, int blk, boolean mins,
                                    float[] dt, int dOff, int[] bt, int bOff, float[] sum) {
        for (int r = 0; r < R; r++) {
            FloatVector d = FloatVector.broadcast(F, dm[dmOff + (r * blocks + blk) * 2]);
            FloatVector dmin = FloatVector.broadcast(F, dm[dmOff + (r * blocks + blk) * 2 + 1]);
            int mo = mOff + (r * blocks + blk) * SUBS;
            for (int half = 0; half < 2; half++) {
                int o = r * TT + half * FL;
                FloatVector dx = FloatVector.fromArray(F, dt, dOff + blk * TT + half * FL);
                FloatVector is = (FloatVector) IntVector.fromArray(I, isum, o).convert(VectorOperators.I2F, 0);
                FloatVector v = d.mul(is);
                if (mins) {
                    IntVector ms = IntVector.zero(I);
                    for (int s = 0; s < SUBS; s++) {
                        ms = ms.add(IntVector.fromArray(I, bt, bOff + (blk * SUBS + s) * TT + half * FL).mul(m[mo + s]));
                    }
                    v = v.sub(dmin.mul((FloatVector) ms.convert(VectorOperators.I2F, 0)));
                }
                FloatVector.fromArray(F, sum, o).add(dx.mul(v)).intoArray(sum, o);
            }
        }
    }

    /** The group's sums into panelOut[t*PANEL + row + r] for every token t of the tile (padding included, never copied out). */
    private static void finish(float[] sum, int tile, float[] panelOut, int row) {
        for (int r = 0; r < R; r++) {
            for (int i = 0; i < TT; i++) {
                panelOut[(tile * TT + i) * PANEL + row + r] = sum[r * TT + i];
            }
        }
    }
}
