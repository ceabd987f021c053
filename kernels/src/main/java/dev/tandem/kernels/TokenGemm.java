package dev.tandem.kernels;

import static dev.tandem.kernels.Vec.F;
import static dev.tandem.kernels.Vec.FL;

import jdk.incubator.vector.FloatVector;

/**
 * The matmul of a float format (F16, BF16) vectorised over tokens, with exactly its dot's
 * arithmetic for every (token, row).
 *
 * <p>A float dot vectorised along K is a set of independent FMA chains, one per accumulator lane:
 * with {@code accs} accumulators, each taking {@code parts} vectors of FL values per step, chain
 * (a, l) runs over positions i*period + a*step + p*FL + l (step = parts*FL, period = accs*step) in
 * (i, p) order. The dot then adds the accumulators lanewise, sums the lanes in {@link Vec#sum}'s
 * butterfly and adds the tail past the last whole period one product at a time. This kernel runs
 * each chain for {@link #R} rows x 2 token vectors at once (a vector holds FL tokens). Both operands
 * are stored in chain order so a chain reads them at unit stride: the activations of a tile of
 * {@link #TT} tokens K-major, and each panel's weights decoded once, the R rows of a group
 * interleaved (position p of the group's row r at p*R + r; the tail positions past the last whole
 * period keep their element order). Per position: 2 activation loads, R broadcasts and 2R FMAs, all
 * of them useful work, and no index loads or range checks in the loop (an indirect index cost a
 * load and a check per broadcast). Reordering costs a transposition per weight, so batches of fewer than
 * {@link #REORDER_TILES} tiles keep the panel in element order and read it through the chain order
 * instead. The chains' results go through the same additions in the same order either way.
 */
final class TokenGemm {
    private TokenGemm() {}

    /** Tokens per tile: two float vectors. */
    static final int TT = 2 * FL;
    /**
     * Rows per group: 4 or 8 rows x 2 token vectors = 8 or 16 accumulators. C2 issues all of a step's R
     * broadcasts before its FMAs, so R rows hold 2R + 2 + R vector registers: with 16 of them (AVX2)
     * 5 or 6 rows spill an accumulator to the stack, and its store-load round trip sets the loop's
     * pace (measured: 5 rows 30 % slower than 4). AVX-512 has 32: 8 rows fit, each step's 2
     * activation loads feed 16 FMAs instead of 8, and 16 independent chains keep both FMA pipes
     * busy through the FMA latency (docs/benchmarks.md, "F16 on Zen 5"). tandem.tokenGemmRows
     * overrides the choice (same bits: a row's arithmetic does not depend on its group).
     */
    static final int R = KernelConfig.tokenGemmRows() != 0 ? KernelConfig.tokenGemmRows() : FL >= 16 ? 8 : 4;
    /** Weight rows decoded per panel (16 x cols floats, in L2 across the token tiles); a multiple of R. */
    private static final int PANEL = 16;
    /**
     * From this many token tiles on, panels are stored in chain order. 4, since the panel's decode writes
     * a group's rows position by position (one thread, against 8, B/A of medians: 4 tiles 2048 x 2048
     * 1.34, 5632 x 2048 1.35, 2048 x 5632 1.56, BF16 2048 x 2048 1.24, 768 x 2048 1.36, 2048 x 768 0.94;
     * 2 tiles 2048 x 2048 1.05 but 2048 x 768 0.84; 1 tile 0.63-0.84; docs/benchmarks.md, session 24).
     * Before that decode, reordering paid only from 8 tiles.
     */
    private static final int REORDER_TILES = 4;

    /** The dot's chain layout: accumulators (1 or 2) and FL-vectors per accumulator per step. */
    record Layout(int accs, int parts) {
        Layout {
            if (accs != 1 && accs != 2) {
                throw new IllegalArgumentException("accs must be 1 or 2, got " + accs);
            }
        }

        int step() { return parts * FL; }

        int period() { return accs * step(); }

        int chains() { return accs * FL; }
    }

    /** Whether the token-tiled kernel serves a batch of this size (below one vector of tokens most lanes would be padding). */
    static boolean serves(int batch) {
        return KernelConfig.tokenTiles() && Vec.ENABLED && batch >= FL;
    }

    /** out[t*rows + r] = w.dot(r, x, t*cols) for every row r and token t, where w.dot has the given layout. */
    static void matmul(WeightMatrix w, Layout layout, float[] x, float[] out, int batch) {
        int rows = w.rows(), cols = w.cols();
        int main = cols / layout.period() * layout.period();
        int[] order = chainOrder(layout, main);
        int len = main / layout.chains();
        int tiles = (batch + TT - 1) / TT;
        // lines from AlignedFloats.FIRST where known; reused: a fresh array was megabytes a prefill call
        float[] xt = BatchScratch.ofThread().packedActivations(tiles, TT, cols, batch);
        Parallel.forRange(tiles, 1, (start, end) -> {
            for (int tile = start; tile < end; tile++) {
                int t0 = tile * TT, t1 = Math.min(batch, t0 + TT), xOff = AlignedFloats.FIRST + tile * cols * TT;
                for (int t = t0; t < t1; t++) {
                    int c = xOff + t - t0;
                    for (int i = 0; i < main; i++) {
                        xt[c + i * TT] = x[t * cols + order[i]];
                    }
                    for (int j = main; j < cols; j++) {
                        xt[c + j * TT] = x[t * cols + j];
                    }
                }
            }
        });
        int panels = (rows + PANEL - 1) / PANEL;
        // Reordering a panel costs a scatter per weight, paid back only over enough token tiles.
        boolean reorder = tiles >= REORDER_TILES;
        int rowStride = reorder ? 1 : cols, posStride = reorder ? R : 1;
        Parallel.forRange(panels, 1, (start, end) -> {
            // Reused, as the packed activations: fresh, they were half a megabyte a task on TinyLlama's widest rows,
            // and with the results 30 % of the bytes a stories110M F16 prefill allocated (JFR).
            BatchScratch scratch = BatchScratch.ofThread();
            float[] wf = scratch.panel(PANEL * cols);
            float[] rowsOfGroup = reorder ? scratch.panelRows(R * cols) : null;
            int groupRes = layout.chains() * R * TT;
            float[] res = scratch.chainResults(PANEL / R * groupRes);
            // The panel's results token-major, copied out once per panel (as IntGemm): writing each
            // (token, row) straight into out touched a cache line of out per value.
            float[] panelOut = scratch.panelOut(tiles * TT * PANEL);
            for (int p = start; p < end; p++) {
                int r0 = p * PANEL, r1 = Math.min(rows, r0 + PANEL);
                // The last group is padded with zero rows (computed, never stored) to a whole R.
                int tiled = r0 + (r1 - r0 + R - 1) / R * R;
                if (reorder) {
                    decodePanel(w, order, len, cols, r0, r1, tiled, rowsOfGroup, wf);
                } else {
                    decodeRows(w, cols, r0, r1, tiled, wf);
                }
                for (int tile = 0; tile < tiles; tile++) {
                    int xOff = AlignedFloats.FIRST + tile * cols * TT;
                    if (reorder) {
                        // Chain-outer: a chain's activations (len x TT floats) stay in L1 across the
                        // panel's groups, and only the groups' weights (R floats a step) stream from L2.
                        for (int chain = 0; chain < layout.chains(); chain++) {
                            for (int g = r0; g < tiled; g += R) {
                                int o = (g - r0) / R * groupRes + chain * R * TT;
                                if (R == 8) {
                                    kernel8(wf, (g - r0) * cols, chain * len, len, xt, xOff, res, o);
                                } else {
                                    kernel(wf, (g - r0) * cols, chain * len, len, xt, xOff, res, o);
                                }
                            }
                        }
                    } else {
                        // Group-outer: the cache lines of a group's rows serve all its chains from L1.
                        for (int g = r0; g < tiled; g += R) {
                            for (int chain = 0; chain < layout.chains(); chain++) {
                                int o = (g - r0) / R * groupRes + chain * R * TT;
                                if (R == 8) {
                                    kernelIndexed8(wf, (g - r0) * cols, cols, order, chain * len, len, xt, xOff, res, o);
                                } else {
                                    kernelIndexed(wf, (g - r0) * cols, cols, order, chain * len, len, xt, xOff, res, o);
                                }
                            }
                        }
                    }
                    for (int g = r0; g < tiled; g += R) {
                        finish(layout, res, (g - r0) / R * groupRes, wf, (g - r0) * cols, rowStride, posStride, cols, xt,
                                xOff, main, tile, panelOut, g - r0);
                    }
                }
                for (int t = 0; t < batch; t++) {
                    System.arraycopy(panelOut, t * PANEL, out, t * rows + r0, r1 - r0);
                }
            }
        });
    }

    /** Decodes rows [r0, r1) into wf row by row, in element order, zero rows up to tiled. */
    private static void decodeRows(WeightMatrix w, int cols, int r0, int r1, int tiled, float[] wf) {
        java.util.Arrays.fill(wf, (r1 - r0) * cols, (tiled - r0) * cols, 0f);
        for (int r = r0; r < r1; r++) {
            w.dequantizeRow(r, wf, (r - r0) * cols);
        }
    }

    /**
     * Decodes rows [r0, r1) into wf in the panel layout (see the class comment; chains of len positions),
     * zero rows up to tiled: a group's R rows decoded into rows (R x cols, element order), then written out
     * position by position, R adjacent floats each. Why: scattering each decoded row into the layout alone put every
     * store on a cache line of its own, R rows apart, and the decode of TinyLlama F16's panels took as
     * much of a 256-token prefill's CPU as the kernel (perf: 34 % against 32 %, docs/benchmarks.md).
     * Steps outer, chains inner: a step's sources are a run of each row, and its R-float stores fill
     * the lines the next step completes.
     */
    private static void decodePanel(WeightMatrix w, int[] order, int len, int cols, int r0, int r1, int tiled, float[] rows,
                                    float[] wf) {
        int main = order.length;
        for (int g = r0; g < tiled; g += R) {
            int real = Math.min(R, r1 - g), base = (g - r0) * cols;
            for (int r = 0; r < real; r++) {
                w.dequantizeRow(g + r, rows, r * cols);
            }
            java.util.Arrays.fill(rows, real * cols, R * cols, 0f);
            for (int s = 0; s < len; s++) {
                for (int i = s; i < main; i += len) {
                    gather(rows, cols, order[i], wf, base + i * R);
                }
            }
            for (int j = main; j < cols; j++) {
                gather(rows, cols, j, wf, base + j * R);
            }
        }
    }

    /** wf[at + r] = rows[r*cols + j] for the R rows. */
    private static void gather(float[] rows, int cols, int j, float[] wf, int at) {
        for (int r = 0; r < R; r++) {
            wf[at + r] = rows[r * cols + j];
        }
    }

    /**
     * order[c*len + i] = the position of chain c's i-th product, for the positions below main: chain
     * (a, l) = c = a*FL + l takes i*period + a*step + p*FL + l in (i, p) order. The activations are
     * stored in this order (so a chain reads them contiguously), and so are each panel's weights.
     */
    static int[] chainOrder(Layout layout, int main) {
        int chains = layout.chains(), len = main / chains;
        int[] order = new int[main];
        for (int a = 0; a < layout.accs(); a++) {
            for (int l = 0; l < FL; l++) {
                int c = a * FL + l, n = 0;
                for (int base = 0; base < main; base += layout.period()) {
                    for (int p = 0; p < layout.parts(); p++) {
                        order[c * len + n++] = base + a * layout.step() + p * FL + l;
                    }
                }
            }
        }
        return order;
    }

    /**
     * {@link #kernel} for a panel in element order (rows wOff/cols..+3 of w), reading the weights
     * through the chain order: an index load per step, for batches too small to repay a reorder.
     */
    private static void kernelIndexed(float[] w, int wOff, int cols, int[] order, int from, int len, float[] xt, int xOff,
                                      float[] res, int o) {
        int w1 = wOff + cols, w2 = w1 + cols, w3 = w2 + cols;
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00;
        FloatVector a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        for (int i = from; i < from + len; i++) {
            int k = order[i];
            int xi = xOff + i * TT;
            FloatVector x0 = FloatVector.fromArray(F, xt, xi);
            FloatVector x1 = FloatVector.fromArray(F, xt, xi + FL);
            FloatVector wv = FloatVector.broadcast(F, w[wOff + k]);
            a00 = wv.fma(x0, a00);
            a01 = wv.fma(x1, a01);
            wv = FloatVector.broadcast(F, w[w1 + k]);
            a10 = wv.fma(x0, a10);
            a11 = wv.fma(x1, a11);
            wv = FloatVector.broadcast(F, w[w2 + k]);
            a20 = wv.fma(x0, a20);
            a21 = wv.fma(x1, a21);
            wv = FloatVector.broadcast(F, w[w3 + k]);
            a30 = wv.fma(x0, a30);
            a31 = wv.fma(x1, a31);
        }
        store(res, o, a00, a01, a10, a11, a20, a21, a30, a31);
    }

    /**
     * One chain (its products at chain-order positions [from, from+len)) for the R rows of the group
     * at w[wOff..] and the tile's 2 token vectors, into res[o..]: a counted unit-stride loop over one
     * weight stream (the group's rows interleaved, so each step's R weights are adjacent) and one
     * activation stream, 8 independent FMA chains.
     */
    private static void kernel(float[] w, int wOff, int from, int len, float[] xt, int xOff, float[] res, int o) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00;
        FloatVector a30 = a00, a31 = a00;
        int wi = wOff + from * R, xi = xOff + from * TT;
        for (int i = 0; i < len; i++, wi += R, xi += TT) {
            FloatVector x0 = FloatVector.fromArray(F, xt, xi);
            FloatVector x1 = FloatVector.fromArray(F, xt, xi + FL);
            FloatVector wv = FloatVector.broadcast(F, w[wi]);
            a00 = wv.fma(x0, a00);
            a01 = wv.fma(x1, a01);
            wv = FloatVector.broadcast(F, w[wi + 1]);
            a10 = wv.fma(x0, a10);
            a11 = wv.fma(x1, a11);
            wv = FloatVector.broadcast(F, w[wi + 2]);
            a20 = wv.fma(x0, a20);
            a21 = wv.fma(x1, a21);
            wv = FloatVector.broadcast(F, w[wi + 3]);
            a30 = wv.fma(x0, a30);
            a31 = wv.fma(x1, a31);
        }
        store(res, o, a00, a01, a10, a11, a20, a21, a30, a31);
    }

    /** {@link #kernel} for 8 rows (interleaved 8 to a step): 16 accumulators, 2 activation loads per 16 FMAs. */
    private static void kernel8(float[] w, int wOff, int from, int len, float[] xt, int xOff, float[] res, int o) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        FloatVector a40 = a00, a41 = a00, a50 = a00, a51 = a00, a60 = a00, a61 = a00, a70 = a00, a71 = a00;
        int wi = wOff + from * 8, xi = xOff + from * TT;
        for (int i = 0; i < len; i++, wi += 8, xi += TT) {
            FloatVector x0 = FloatVector.fromArray(F, xt, xi);
            FloatVector x1 = FloatVector.fromArray(F, xt, xi + FL);
            FloatVector wv = FloatVector.broadcast(F, w[wi]);
            a00 = wv.fma(x0, a00);
            a01 = wv.fma(x1, a01);
            wv = FloatVector.broadcast(F, w[wi + 1]);
            a10 = wv.fma(x0, a10);
            a11 = wv.fma(x1, a11);
            wv = FloatVector.broadcast(F, w[wi + 2]);
            a20 = wv.fma(x0, a20);
            a21 = wv.fma(x1, a21);
            wv = FloatVector.broadcast(F, w[wi + 3]);
            a30 = wv.fma(x0, a30);
            a31 = wv.fma(x1, a31);
            wv = FloatVector.broadcast(F, w[wi + 4]);
            a40 = wv.fma(x0, a40);
            a41 = wv.fma(x1, a41);
            wv = FloatVector.broadcast(F, w[wi + 5]);
            a50 = wv.fma(x0, a50);
            a51 = wv.fma(x1, a51);
            wv = FloatVector.broadcast(F, w[wi + 6]);
            a60 = wv.fma(x0, a60);
            a61 = wv.fma(x1, a61);
            wv = FloatVector.broadcast(F, w[wi + 7]);
            a70 = wv.fma(x0, a70);
            a71 = wv.fma(x1, a71);
        }
        store(res, o, a00, a01, a10, a11, a20, a21, a30, a31);
        store(res, o + 4 * TT, a40, a41, a50, a51, a60, a61, a70, a71);
    }

    /** {@link #kernelIndexed} for 8 rows (rows wOff/cols..+7 of w): 16 accumulators. */
    private static void kernelIndexed8(float[] w, int wOff, int cols, int[] order, int from, int len, float[] xt, int xOff,
                                       float[] res, int o) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        FloatVector a40 = a00, a41 = a00, a50 = a00, a51 = a00, a60 = a00, a61 = a00, a70 = a00, a71 = a00;
        for (int i = from; i < from + len; i++) {
            int k = wOff + order[i];
            int xi = xOff + i * TT;
            FloatVector x0 = FloatVector.fromArray(F, xt, xi);
            FloatVector x1 = FloatVector.fromArray(F, xt, xi + FL);
            FloatVector wv = FloatVector.broadcast(F, w[k]);
            a00 = wv.fma(x0, a00);
            a01 = wv.fma(x1, a01);
            wv = FloatVector.broadcast(F, w[k + 1 * cols]);
            a10 = wv.fma(x0, a10);
            a11 = wv.fma(x1, a11);
            wv = FloatVector.broadcast(F, w[k + 2 * cols]);
            a20 = wv.fma(x0, a20);
            a21 = wv.fma(x1, a21);
            wv = FloatVector.broadcast(F, w[k + 3 * cols]);
            a30 = wv.fma(x0, a30);
            a31 = wv.fma(x1, a31);
            wv = FloatVector.broadcast(F, w[k + 4 * cols]);
            a40 = wv.fma(x0, a40);
            a41 = wv.fma(x1, a41);
            wv = FloatVector.broadcast(F, w[k + 5 * cols]);
            a50 = wv.fma(x0, a50);
            a51 = wv.fma(x1, a51);
            wv = FloatVector.broadcast(F, w[k + 6 * cols]);
            a60 = wv.fma(x0, a60);
            a61 = wv.fma(x1, a61);
            wv = FloatVector.broadcast(F, w[k + 7 * cols]);
            a70 = wv.fma(x0, a70);
            a71 = wv.fma(x1, a71);
        }
        store(res, o, a00, a01, a10, a11, a20, a21, a30, a31);
        store(res, o + 4 * TT, a40, a41, a50, a51, a60, a61, a70, a71);
    }

    /** The 4 rows x 2 token vectors of accumulators into res[o..], row by row. */
    private static void store(float[] res, int o, FloatVector a00, FloatVector a01, FloatVector a10, FloatVector a11,
                              FloatVector a20, FloatVector a21, FloatVector a30, FloatVector a31) {
        a00.intoArray(res, o);
        a01.intoArray(res, o + FL);
        a10.intoArray(res, o + TT);
        a11.intoArray(res, o + TT + FL);
        a20.intoArray(res, o + 2 * TT);
        a21.intoArray(res, o + 2 * TT + FL);
        a30.intoArray(res, o + 3 * TT);
        a31.intoArray(res, o + 3 * TT + FL);
    }

    /**
     * The dot's ending per (row, token): accumulators added lanewise, {@link Vec#sum}'s butterfly
     * (lane l plus lane l+width, halving the width), then the tail products one at a time, into
     * panelOut[t*PANEL + row + r] for the tile's tokens t (padding included; never copied out). The
     * chain results are combined in place in res. Each level of the butterfly runs over all rows and
     * both token vectors before the next: a level's adds read the previous level's stores, and with
     * the rows outermost every add waited on the one before (26 % of an F16 matmul on one Zen 5 core).
     * Every (row, token) still sees the same adds in the same order.
     */
    private static void finish(Layout layout, float[] res, int resOff, float[] w, int wOff, int rowStride, int posStride,
                               int cols, float[] xt, int xOff, int main, int tile, float[] panelOut, int row) {
        int stride = R * TT;
        if (FL == 16) {
            finish16(layout, res, resOff, w, wOff, rowStride, posStride, cols, xt, xOff, main, tile, panelOut, row);
            return;
        }
        if (layout.accs() == 2) {
            for (int l = 0; l < FL; l++) {
                for (int o = resOff; o < resOff + R * TT; o += FL) {
                    add(res, l * stride + o, (FL + l) * stride + o);
                }
            }
        }
        for (int width = FL / 2; width >= 1; width /= 2) {
            for (int l = 0; l < width; l++) {
                for (int o = resOff; o < resOff + R * TT; o += FL) {
                    add(res, l * stride + o, (l + width) * stride + o);
                }
            }
        }
        for (int r = 0; r < R; r++) {
            for (int half = 0; half < 2; half++) {
                int o = resOff + r * TT + half * FL;
                FloatVector s = FloatVector.fromArray(F, res, o);
                for (int j = main; j < cols; j++) {
                    s = s.add(FloatVector.broadcast(F, w[wOff + r * rowStride + j * posStride]).mul(FloatVector.fromArray(F, xt, xOff + j * TT + half * FL)));
                }
                // Back into its res slot (done with) and out from there: s.lane(i) with a variable i
                // compiled to a jump table of extracts, one indirect jump per value.
                s.intoArray(res, o);
                int to = (tile * TT + half * FL) * PANEL + row + r;
                for (int i = 0; i < FL; i++) {
                    panelOut[to + i * PANEL] = res[o + i];
                }
            }
        }
    }

    /**
     * {@link #finish} at 512 bits: each (row, token vector)'s 16 or 32 chain results loaded once and
     * combined in registers, the same adds in the same order (lane l plus lane l+width, width 8, 4, 2,
     * 1, after the two accumulators' lanewise add), instead of a round trip through res per add.
     */
    private static void finish16(Layout layout, float[] res, int resOff, float[] w, int wOff, int rowStride, int posStride,
                                 int cols, float[] xt, int xOff, int main, int tile, float[] panelOut, int row) {
        int stride = R * TT;
        boolean two = layout.accs() == 2;
        for (int r = 0; r < R; r++) {
            for (int half = 0; half < 2; half++) {
                int o = resOff + r * TT + half * FL;
                FloatVector v0 = chain(res, o, stride, 0, two), v1 = chain(res, o, stride, 1, two);
                FloatVector v2 = chain(res, o, stride, 2, two), v3 = chain(res, o, stride, 3, two);
                FloatVector v4 = chain(res, o, stride, 4, two), v5 = chain(res, o, stride, 5, two);
                FloatVector v6 = chain(res, o, stride, 6, two), v7 = chain(res, o, stride, 7, two);
                FloatVector v8 = chain(res, o, stride, 8, two), v9 = chain(res, o, stride, 9, two);
                FloatVector v10 = chain(res, o, stride, 10, two), v11 = chain(res, o, stride, 11, two);
                FloatVector v12 = chain(res, o, stride, 12, two), v13 = chain(res, o, stride, 13, two);
                FloatVector v14 = chain(res, o, stride, 14, two), v15 = chain(res, o, stride, 15, two);
                v0 = v0.add(v8);
                v1 = v1.add(v9);
                v2 = v2.add(v10);
                v3 = v3.add(v11);
                v4 = v4.add(v12);
                v5 = v5.add(v13);
                v6 = v6.add(v14);
                v7 = v7.add(v15);
                v0 = v0.add(v4);
                v1 = v1.add(v5);
                v2 = v2.add(v6);
                v3 = v3.add(v7);
                v0 = v0.add(v2);
                v1 = v1.add(v3);
                // The tail and store as in finish, written out: one force-inlined helper for both ran 0.95-0.98x
                // (kernels-ab F16 at 256 tokens, docs/benchmarks.md, session 25).
                FloatVector s = v0.add(v1);
                for (int j = main; j < cols; j++) {
                    s = s.add(FloatVector.broadcast(F, w[wOff + r * rowStride + j * posStride]).mul(FloatVector.fromArray(F, xt, xOff + j * TT + half * FL)));
                }
                s.intoArray(res, o);
                int to = (tile * TT + half * FL) * PANEL + row + r;
                for (int i = 0; i < FL; i++) {
                    panelOut[to + i * PANEL] = res[o + i];
                }
            }
        }
    }

    /** Chain l's results at res[o + l*stride] (plus chain FL+l's, the second accumulator's, when two). */
    private static FloatVector chain(float[] res, int o, int stride, int l, boolean two) {
        FloatVector v = FloatVector.fromArray(F, res, o + l * stride);
        return two ? v.add(FloatVector.fromArray(F, res, o + (FL + l) * stride)) : v;
    }

    /** res[to..to+FL) += res[from..from+FL), lanewise. */
    private static void add(float[] res, int to, int from) {
        FloatVector.fromArray(F, res, to).add(FloatVector.fromArray(F, res, from)).intoArray(res, to);
    }
}
