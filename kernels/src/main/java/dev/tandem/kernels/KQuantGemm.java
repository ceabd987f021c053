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
 *
 * <p>Two tile shapes ({@link Tile}): the 4-row x 2-vector tile above, and for batched decode an
 * 8-row x 1-vector tile (FL tokens, 8 accumulators: per element 1 activation load, 8 broadcasts and
 * 8 FMAs), so that at 512 bits a batch of 8-16 tokens does not pay for a half-empty 32-token tile.
 * Both run the same packing, exact-group sums, block values and finish, with the tile's width.
 */
final class KQuantGemm {
    private KQuantGemm() {}

    static final int TT = 2 * FL;
    static final int R = 4;

    /** A register tile's shape: {@code tokens} (a multiple of FL) by {@code rows} weight rows. */
    enum Tile {
        /** Two token vectors by 4 rows (prefill, and the larger decode batches). */
        TWO(TT, R),
        /** One token vector by 8 rows (decode batches of up to a vector or so). */
        ONE(FL, 8);

        final int tokens, rows;

        Tile(int tokens, int rows) {
            this.tokens = tokens;
            this.rows = rows;
        }
    }

    private static final int PANEL = 16;
    private static final int QK = KQuantMatrix.QK;
    private static final int SUBS = KQuantMatrix.SUBS;

    /**
     * The tile that serves a batch of this size for w, or null where the per-row kernels (or
     * {@link Q6_KRowGemm}) do (tandem.kquantTile, {@link KernelConfig#kquantTile}).
     */
    static Tile tile(KQuantMatrix w, int batch) {
        if (!KernelConfig.tokenTiles() || !Vec.ENABLED || batch < 2) {
            return null;
        }
        return switch (KernelConfig.kquantTile()) {
            case KernelConfig.KQUANT_TILE_ONE -> Tile.ONE;
            case KernelConfig.KQUANT_TILE_TWO -> Tile.TWO;
            case KernelConfig.KQUANT_TILE_OFF -> batch >= minBatch(w) ? Tile.TWO : null;
            default -> autoTile(w, batch);
        };
    }

    /**
     * The measured dispatch (tandem.kquantTile=auto). On 512-bit vectors, for the formats whose decode
     * is vectorised (Q4_K, Q6_K; Q2_K and Q3_K from their {@link ScaledQuants#UP_TO}): the one-vector tile from {@link #oneMin} to FL tokens, the
     * two-vector tile above (two one-vector tiles cost 1.05-1.2x one padded two-vector tile). One
     * thread, thread CPU time, all three in one JVM alternating (docs/benchmarks.md, "Batched decode
     * of the K-quants from one token vector"): one-vector tile / Q6_KRowGemm 1.04-1.11 at 8 tokens,
     * 0.95-0.97 at 9, 0.86-0.90 at 10, 0.56-0.61 at 16 (Q6_K 32000 x 768, 2048 x 768, 768 x 2048);
     * against Q4_K's per-row kernel 0.94-1.09 at 7, 0.80-0.98 at 8, 0.41-0.49 at 16; the two-vector
     * tile against Q6_KRowGemm 0.59-0.70 at 20 tokens, where Q6_KRowGemm used to run. Elsewhere (256
     * bits, the other K-quants) the dispatch is as before: {@link #minBatch}.
     */
    static Tile autoTile(KQuantMatrix w, int batch) {
        if (FL >= 16 && w.vectorDecode()) {
            return batch < oneMin(w) ? null : batch > FL ? Tile.TWO : Tile.ONE;
        }
        return batch >= minBatch(w) ? Tile.TWO : null;
    }

    /**
     * The smallest batch the one-vector tile takes by default on 512-bit vectors: the batch after those
     * the format's batch-1 kernels take ({@link KQuantMatrix#tokenRowsUpTo}, where {@link TokenRows}
     * serves them: Q4_K to 32, its nibbles widened once for all tokens, {@link Q4_KLanes#dotTokens},
     * against the tile one thread 2048 x 2048 2.40x at 8 tokens, 1.52 at 12, 1.21 at 16, 1.04 at 32,
     * 0.98 at 64; Q6_K to 16; Q5_K to 128, {@link #minBatch}); else 9 against Q6_KRowGemm, 8 against
     * a per-row kernel.
     */
    static int oneMin(KQuantMatrix w) {
        return Math.max(afterTokenRows(w), w instanceof Q6_KMatrix && Q6_KRowGemm.serves(2) ? 9 : 8);
    }

    /** The batch after the largest that w's batch-1 kernels take ({@link KQuantMatrix#tokenRowsUpTo}, where {@link TokenRows} serves), else 0. */
    private static int afterTokenRows(KQuantMatrix w) {
        int upTo = w.tokenRowsUpTo();
        return upTo > 0 && TokenRows.serves(upTo, upTo) ? upTo + 1 : 0;
    }

    /**
     * Where the two-vector tile starts without the one-vector tile. Formats whose decode is
     * vectorised ({@link KQuantMatrix#vectorDecode}: Q4_K, Q6_K; Q2_K, Q3_K at 512 bits) pay from one vector of tokens (on
     * the AVX2 VM, one thread, Q6_K 4096 x 768: 5.9 against 3.8 GMAC/s per-row at 8 tokens, 11.4 at
     * 16); the others decode a weight at a time, which pays only when shared by a few tiles. Q6_K
     * starts later where {@link Q6_KRowGemm} runs: against a padded tile it ran 1.45x as fast at 8
     * tokens and the same at 12 (stories110M's 32000 x 768 classifier, two threads;
     * docs/benchmarks.md, "Batched decode: the Q6_K classifier, one tile at 2048 columns"). Never
     * below the batches the format's batch-1 kernels take ({@link #afterTokenRows}).
     */
    static int minBatch(KQuantMatrix w) {
        if (w instanceof Q6_KMatrix && Q6_KRowGemm.serves(MIN_TAIL)) {
            return Math.max(afterTokenRows(w), MIN_TAIL);
        }
        return Math.max(afterTokenRows(w), w.vectorDecode() ? FL : 2 * TT);
    }

    /** Tokens from which a padded tile beats {@link Q6_KRowGemm} (as IntGemm's tail). */
    static final int MIN_TAIL = 3 * TT / 4;

    /** out[t*rows + r] = w.dot(r, x, t*cols) for every row r and token t, in tiles of this shape. */
    static void matmul(KQuantMatrix w, float[] x, float[] out, int batch, Tile shape) {
        int rows = w.rows(), cols = w.cols(), blocks = cols / QK;
        int tt = shape.tokens, rt = shape.rows;
        Q8_KActivations a = Q8_KActivations.quantize(x, 0, batch * cols, true);
        int tiles = (batch + tt - 1) / tt;
        BatchScratch packing = BatchScratch.ofThread(); // reused: fresh arrays were megabytes a prefill call
        float[] xt = packing.packedActivations(tiles, tt, cols, batch); // lines from AlignedFloats.FIRST where known
        float[] dt = packing.packedScales(tiles, tt, blocks, batch);
        int run = w.minRun(), runs = SUBS / run;
        float[] bt = packing.packedSums(tiles, tt, blocks * runs, batch);
        Parallel.forRange(tiles, 1, (start, end) -> {
            for (int tile = start; tile < end; tile++) {
                pack(a, cols, batch, tile, tt, run, xt, dt, bt);
            }
        });
        int group = w.exactGroup();
        boolean mins = w.hasMins();
        // Batched decode (the one-vector tile) decodes its panels from the paired copy, which the batch-1
        // kernels of the same steps read too. Prefill does not: with the copy built there, TinyLlama Q6_K
        // pp256 ran 53-94 tok/s against 87-99 from the file (alternating, docs/benchmarks.md, session 14).
        boolean fromPaired = shape == Tile.ONE;
        int panels = (rows + PANEL - 1) / PANEL;
        Parallel.forRange(panels, 1, (start, end) -> {
            float[] wq = BatchScratch.ofThread().panel(PANEL * cols);
            float[] mb = new float[PANEL * blocks * SUBS];
            float[] dm = new float[PANEL * blocks * 2];
            int[] m = new int[PANEL * blocks * SUBS];
            int[] isum = new int[rt * tt];
            int[] msum = new int[rt * tt];
            float[] sum = new float[PANEL * tt];
            KQuantMatrix.DecodeScratch scratch = new KQuantMatrix.DecodeScratch(w);
            // The panel's results token-major, copied out once per panel (as IntGemm): writing each
            // (token, row) straight into out touched a cache line of out per value, 5 % of a prefill.
            float[] panelOut = new float[tiles * tt * PANEL];
            for (int p = start; p < end; p++) {
                int r0 = p * PANEL, r1 = Math.min(rows, r0 + PANEL);
                int tiled = r0 + (r1 - r0) / rt * rt;
                // Block-major (row i's super-block blk at (blk*PANEL + i)*QK): within a block the rows are
                // QK floats apart, a constant, so the kernels address every row's weight from one register
                // (with rows cols apart, kernel8's 8 row offsets spilled: ~35 instructions per 8 FMAs).
                for (int r = r0; r < tiled; r++) {
                    w.decodeScaled(r, wq, (r - r0) * QK, PANEL * QK, dm, (r - r0) * blocks * 2, m, (r - r0) * blocks * SUBS, scratch,
                            fromPaired);
                }
                if (mins) {
                    for (int i = 0; i < tiled - r0; i++) {
                        for (int blk = 0; blk < blocks; blk++) {
                            for (int g = 0; g < runs; g++) {
                                mb[(blk * PANEL + i) * SUBS + g] = m[(i * blocks + blk) * SUBS + g * run];
                            }
                        }
                    }
                }
                for (int tile = 0; tile < tiles; tile++) {
                    int xOff = AlignedFloats.FIRST + tile * cols * tt;
                    Arrays.fill(sum, 0f);
                    // Block by block over the panel's row groups, each group's sums kept in sum[i*tt..]
                    // (the same operations in the same block order per row): a block of the tile's
                    // activations (32 KiB at 32 tokens) is read from L2 once for the panel, not once a group.
                    for (int blk = 0; blk < blocks; blk++) {
                        for (int g = r0; g < tiled; g += rt) {
                            int i = g - r0;
                            Arrays.fill(isum, 0);
                            int wBlock = (blk * PANEL + i) * QK, xBlock = xOff + blk * QK * tt;
                            for (int e = 0; e < QK; e += group) {
                                if (shape == Tile.ONE) {
                                    kernel8(wq, wBlock + e, xt, xBlock + e * tt, group, isum);
                                } else {
                                    kernel(wq, wBlock + e, xt, xBlock + e * tt, group, isum);
                                }
                            }
                            if (mins) {
                                int bBlock = tile * blocks * runs * tt + blk * runs * tt;
                                minSums(mb, (blk * PANEL + i) * SUBS, bt, bBlock, runs, tt, msum);
                            }
                            blockValues(isum, msum, dm, i * blocks * 2, blocks, blk, mins, dt, tile * blocks * tt, sum, i * tt, shape);
                        }
                    }
                    for (int g = r0; g < tiled; g += rt) {
                        finish(sum, (g - r0) * tt, tile, panelOut, g - r0, shape);
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

    /**
     * Tile {@code tile}'s quantized activations (as floats) K-major, its block scales, and its sums over
     * each run of {@code run} 16-value sub-blocks that share a min (as floats: exact integers); padding stays 0.
     */
    private static void pack(Q8_KActivations a, int cols, int batch, int tile, int tt, int run, float[] xt, float[] dt, float[] bt) {
        int blocks = cols / QK, runs = blocks * SUBS / run;
        int xOff = AlignedFloats.FIRST + tile * cols * tt, dOff = tile * blocks * tt, bOff = tile * runs * tt;
        int t0 = tile * tt, t1 = Math.min(batch, t0 + tt);
        for (int t = t0; t < t1; t++) {
            int c = t - t0;
            for (int j = 0; j < cols; j++) {
                xt[xOff + j * tt + c] = a.q[t * cols + j];
            }
            for (int blk = 0; blk < blocks; blk++) {
                dt[dOff + blk * tt + c] = a.d[t * blocks + blk];
            }
            for (int g = 0; g < runs; g++) {
                int sum = 0;
                for (int s = g * run; s < (g + 1) * run; s++) {
                    sum += a.bsums[t * blocks * SUBS + s];
                }
                bt[bOff + g * tt + c] = sum;
            }
        }
    }

    /**
     * isum[r][t] += sum over the n elements k of wq[wOff + r*QK + k] * xt[xOff + k*TT + t], the group's
     * exact float sum converted to int.
     */
    private static void kernel(float[] wq, int wOff, float[] xt, int xOff, int n, int[] isum) {
        int w1 = wOff + QK, w2 = w1 + QK, w3 = w2 + QK;
        FloatVector p00 = FloatVector.zero(F), p01 = p00, p10 = p00, p11 = p00;
        FloatVector p20 = p00, p21 = p00, p30 = p00, p31 = p00;
        for (int k = 0; k < n; k++) {
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

    /**
     * {@link #kernel}'s one-vector form: isum[r*FL + t] for 8 rows r against the tile's FL tokens.
     * Named locals, since an array of vectors would be boxed.
     */
    private static void kernel8(float[] wq, int wOff, float[] xt, int xOff, int n, int[] isum) {
        int w1 = wOff + QK, w2 = w1 + QK, w3 = w2 + QK;
        int w4 = w3 + QK, w5 = w4 + QK, w6 = w5 + QK, w7 = w6 + QK;
        FloatVector p0 = FloatVector.zero(F), p1 = p0, p2 = p0, p3 = p0, p4 = p0, p5 = p0, p6 = p0, p7 = p0;
        for (int k = 0; k < n; k++) {
            FloatVector x = FloatVector.fromArray(F, xt, xOff + k * FL);
            p0 = FloatVector.broadcast(F, wq[wOff + k]).fma(x, p0);
            p1 = FloatVector.broadcast(F, wq[w1 + k]).fma(x, p1);
            p2 = FloatVector.broadcast(F, wq[w2 + k]).fma(x, p2);
            p3 = FloatVector.broadcast(F, wq[w3 + k]).fma(x, p3);
            p4 = FloatVector.broadcast(F, wq[w4 + k]).fma(x, p4);
            p5 = FloatVector.broadcast(F, wq[w5 + k]).fma(x, p5);
            p6 = FloatVector.broadcast(F, wq[w6 + k]).fma(x, p6);
            p7 = FloatVector.broadcast(F, wq[w7 + k]).fma(x, p7);
        }
        addInt(p0, isum, 0);
        addInt(p1, isum, FL);
        addInt(p2, isum, 2 * FL);
        addInt(p3, isum, 3 * FL);
        addInt(p4, isum, 4 * FL);
        addInt(p5, isum, 5 * FL);
        addInt(p6, isum, 6 * FL);
        addInt(p7, isum, 7 * FL);
    }

    /**
     * msum[r*tt + t] = sum over the n runs g of mb[mOff + r*SUBS + g] * bt[bOff + g*tt + t] for the 8
     * (row, token vector) pairs of a tile (4 rows x 2 vectors, or 8 rows x 1), exact as {@link #kernel}'s
     * sums; 8 independent FMA chains, as in the kernels.
     */
    private static void minSums(float[] mb, int mOff, float[] bt, int bOff, int n, int tt, int[] msum) {
        int v = tt / FL; // token vectors: accumulator j is row j / v's, vector j % v's
        int w1 = 1 / v * SUBS, w2 = 2 / v * SUBS, w3 = 3 / v * SUBS, w4 = 4 / v * SUBS, w5 = 5 / v * SUBS, w6 = 6 / v * SUBS, w7 = 7 / v * SUBS;
        int x1 = 1 % v * FL, x3 = 3 % v * FL, x5 = 5 % v * FL, x7 = 7 % v * FL; // even j: vector 0
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int g = 0; g < n; g++) {
            int m = mOff + g, x = bOff + g * tt;
            FloatVector even = FloatVector.fromArray(F, bt, x);
            a0 = FloatVector.broadcast(F, mb[m]).fma(even, a0);
            a1 = FloatVector.broadcast(F, mb[m + w1]).fma(FloatVector.fromArray(F, bt, x + x1), a1);
            a2 = FloatVector.broadcast(F, mb[m + w2]).fma(even, a2);
            a3 = FloatVector.broadcast(F, mb[m + w3]).fma(FloatVector.fromArray(F, bt, x + x3), a3);
            a4 = FloatVector.broadcast(F, mb[m + w4]).fma(even, a4);
            a5 = FloatVector.broadcast(F, mb[m + w5]).fma(FloatVector.fromArray(F, bt, x + x5), a5);
            a6 = FloatVector.broadcast(F, mb[m + w6]).fma(even, a6);
            a7 = FloatVector.broadcast(F, mb[m + w7]).fma(FloatVector.fromArray(F, bt, x + x7), a7);
        }
        ((IntVector) a0.convert(VectorOperators.F2I, 0)).intoArray(msum, 0);
        ((IntVector) a1.convert(VectorOperators.F2I, 0)).intoArray(msum, 1 / v * tt + x1);
        ((IntVector) a2.convert(VectorOperators.F2I, 0)).intoArray(msum, 2 / v * tt);
        ((IntVector) a3.convert(VectorOperators.F2I, 0)).intoArray(msum, 3 / v * tt + x3);
        ((IntVector) a4.convert(VectorOperators.F2I, 0)).intoArray(msum, 4 / v * tt);
        ((IntVector) a5.convert(VectorOperators.F2I, 0)).intoArray(msum, 5 / v * tt + x5);
        ((IntVector) a6.convert(VectorOperators.F2I, 0)).intoArray(msum, 6 / v * tt);
        ((IntVector) a7.convert(VectorOperators.F2I, 0)).intoArray(msum, 7 / v * tt + x7);
    }

    private static void addInt(FloatVector p, int[] isum, int o) {
        IntVector v = (IntVector) p.convert(VectorOperators.F2I, 0);
        v.add(IntVector.fromArray(I, isum, o)).intoArray(isum, o);
    }

    /**
     * sum[r][t] += blockValue: dx * (D * isum - M * minSum) (or dx * (D * isum) without mins), the very
     * operations of {@link KQuantMatrix#blockValue}. minSum = sum_s m[s] * bsums[t][s] comes in msum,
     * summed by the kernels per run of sub-blocks that share a min, exactly (every product and partial
     * sum an integer below 2^24: |m| &lt;= 63, |run sum| &lt;= 32 * 128, 8 runs; Q2_K 15, 16 * 128, 16).
     * Not here: as 8 dependent FMAs per (row, token vector), with a conversion and broadcast of each min, the
     * min sums cost 17 % of a Q4_K 256-token matmul (kernels-ab, one thread, 2048 x 2048).
     */
    private static void blockValues(int[] isum, int[] msum, float[] dm, int dmOff, int blocks, int blk, boolean mins,
                                    float[] dt, int dOff, float[] sum, int sOff, Tile shape) {
        int tt = shape.tokens;
        for (int r = 0; r < shape.rows; r++) {
            FloatVector d = FloatVector.broadcast(F, dm[dmOff + (r * blocks + blk) * 2]);
            FloatVector dmin = FloatVector.broadcast(F, dm[dmOff + (r * blocks + blk) * 2 + 1]);
            for (int lane0 = 0; lane0 < tt; lane0 += FL) {
                int o = r * tt + lane0;
                FloatVector dx = FloatVector.fromArray(F, dt, dOff + blk * tt + lane0);
                FloatVector is = (FloatVector) IntVector.fromArray(I, isum, o).convert(VectorOperators.I2F, 0);
                FloatVector v = d.mul(is);
                if (mins) {
                    v = v.sub(dmin.mul((FloatVector) IntVector.fromArray(I, msum, o).convert(VectorOperators.I2F, 0)));
                }
                FloatVector.fromArray(F, sum, sOff + o).add(dx.mul(v)).intoArray(sum, sOff + o);
            }
        }
    }

    /** The group's sums into panelOut[t*PANEL + row + r] for every token t of the tile (padding included, never copied out). */
    private static void finish(float[] sum, int sOff, int tile, float[] panelOut, int row, Tile shape) {
        int tt = shape.tokens;
        for (int r = 0; r < shape.rows; r++) {
            for (int i = 0; i < tt; i++) {
                panelOut[(tile * tt + i) * PANEL + row + r] = sum[sOff + r * tt + i];
            }
        }
    }
}
