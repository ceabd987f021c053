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
 * each chain for 4 rows x 2 token vectors at once (a vector holds FL tokens, the activations of a
 * tile of {@link #TT} tokens are stored K-major, each weight is decoded once per panel and
 * broadcast): per position 2 activation loads, 4 broadcasts and 8 FMAs, all of them useful work. The
 * chains' results go through the same additions in the same order.
 */
final class TokenGemm {
    private TokenGemm() {}

    /** Tokens per tile: two float vectors. */
    static final int TT = 2 * FL;
    private static final int R = 4;
    /** Weight rows decoded per panel (16 x cols floats, in L2 across the token tiles). */
    private static final int PANEL = 16;

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
        float[] xt = new float[tiles * cols * TT];
        Parallel.forRange(tiles, 1, (start, end) -> {
            for (int tile = start; tile < end; tile++) {
                int t0 = tile * TT, t1 = Math.min(batch, t0 + TT), xOff = tile * cols * TT;
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
        Parallel.forRange(panels, 1, (start, end) -> {
            float[] wf = new float[PANEL * cols];
            float[] res = new float[layout.chains() * R * TT];
            float[] lanes = new float[FL];
            for (int p = start; p < end; p++) {
                int r0 = p * PANEL, r1 = Math.min(rows, r0 + PANEL);
                int tiled = r0 + (r1 - r0) / R * R;
                for (int r = r0; r < tiled; r++) {
                    w.dequantizeRow(r, wf, (r - r0) * cols);
                }
                for (int tile = 0; tile < tiles; tile++) {
                    int xOff = tile * cols * TT;
                    for (int g = r0; g < tiled; g += R) {
                        int wOff = (g - r0) * cols;
                        for (int chain = 0; chain < layout.chains(); chain++) {
                            kernel(wf, wOff, cols, order, chain * len, len, xt, xOff, res, chain * R * TT);
                        }
                        finish(layout, res, wf, wOff, cols, xt, xOff, main, tile, batch, out, rows, g, lanes);
                    }
                }
                for (int r = tiled; r < r1; r++) {
                    for (int t = 0; t < batch; t++) {
                        out[t * rows + r] = w.dot(r, x, t * cols);
                    }
                }
            }
        });
    }

    /**
     * order[c*len + i] = the position of chain c's i-th product, for the positions below main: chain
     * (a, l) = c = a*FL + l takes i*period + a*step + p*FL + l in (i, p) order. The activations are
     * stored in this order (so a chain reads them contiguously); the weights stay in element order
     * and are broadcast through it.
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
     * One chain (its products at chain-order indices [from, from+len)) for rows wOff/cols..+3 and the
     * tile's 2 token vectors, into res[o..]: a counted unit-stride loop (so C2 unrolls it and hoists
     * the activations' range checks), 8 independent FMA chains.
     */
    private static void kernel(float[] w, int wOff, int cols, int[] order, int from, int len, float[] xt, int xOff,
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
     * (lane l plus lane l+width, halving the width), then the tail products one at a time. The
     * chain results are combined in place in res.
     */
    private static void finish(Layout layout, float[] res, float[] w, int wOff, int cols, float[] xt, int xOff, int main,
                               int tile, int batch, float[] out, int rows, int g, float[] lanes) {
        int stride = R * TT;
        for (int r = 0; r < R; r++) {
            for (int half = 0; half < 2; half++) {
                int o = r * TT + half * FL;
                if (layout.accs() == 2) {
                    for (int l = 0; l < FL; l++) {
                        add(res, l * stride + o, (FL + l) * stride + o);
                    }
                }
                for (int width = FL / 2; width >= 1; width /= 2) {
                    for (int l = 0; l < width; l++) {
                        add(res, l * stride + o, (l + width) * stride + o);
                    }
                }
                FloatVector s = FloatVector.fromArray(F, res, o);
                for (int j = main; j < cols; j++) {
                    s = s.add(FloatVector.broadcast(F, w[wOff + r * cols + j]).mul(FloatVector.fromArray(F, xt, xOff + j * TT + half * FL)));
                }
                s.intoArray(lanes, 0);
                int tok = tile * TT + half * FL;
                for (int i = 0; i < FL && tok + i < batch; i++) {
                    out[(tok + i) * rows + g + r] = lanes[i];
                }
            }
        }
    }

    /** res[to..to+FL) += res[from..from+FL), lanewise. */
    private static void add(float[] res, int to, int from) {
        FloatVector.fromArray(F, res, to).add(FloatVector.fromArray(F, res, from)).intoArray(res, to);
    }
}
