package dev.tandem.kernels;

import static dev.tandem.kernels.Vec.F;
import static dev.tandem.kernels.Vec.FL;

import java.util.Arrays;
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
    /** Positions per K chunk: the tile's activations for one chunk (256*TT floats, 16 KiB at TT=16) stay in L1 for every chain. */
    private static final int CHUNK = 256;

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
        int tiles = (batch + TT - 1) / TT;
        float[] xt = new float[tiles * cols * TT];
        Parallel.forRange(tiles, 1, (start, end) -> {
            for (int tile = start; tile < end; tile++) {
                int t0 = tile * TT, t1 = Math.min(batch, t0 + TT), xOff = tile * cols * TT;
                for (int t = t0; t < t1; t++) {
                    for (int j = 0, i = xOff + t - t0; j < cols; j++, i += TT) {
                        xt[i] = x[t * cols + j];
                    }
                }
            }
        });
        int panels = (rows + PANEL - 1) / PANEL;
        int period = layout.period(), main = cols / period * period;
        int chunkIters = Math.max(1, CHUNK / period);
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
                        Arrays.fill(res, 0f);
                        for (int i0 = 0; i0 < main; i0 += chunkIters * period) {
                            int i1 = Math.min(main, i0 + chunkIters * period);
                            for (int a = 0; a < layout.accs(); a++) {
                                for (int l = 0; l < FL; l++) {
                                    int chain = a * FL + l;
                                    kernel(wf, wOff, cols, xt, xOff, i0 + a * layout.step() + l, i1, period, layout.parts(),
                                            res, chain * R * TT);
                                }
                            }
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
     * One chain for rows wOff/cols..+3 and the tile's 2 token vectors: positions first + i*period +
     * p*FL (p &lt; parts) up to end, FMA'd onto the accumulators kept in res between K chunks.
     */
    private static void kernel(float[] w, int wOff, int cols, float[] xt, int xOff, int first, int end, int period,
                               int parts, float[] res, int o) {
        int w1 = wOff + cols, w2 = w1 + cols, w3 = w2 + cols;
        FloatVector a00 = FloatVector.fromArray(F, res, o), a01 = FloatVector.fromArray(F, res, o + FL);
        FloatVector a10 = FloatVector.fromArray(F, res, o + TT), a11 = FloatVector.fromArray(F, res, o + TT + FL);
        FloatVector a20 = FloatVector.fromArray(F, res, o + 2 * TT), a21 = FloatVector.fromArray(F, res, o + 2 * TT + FL);
        FloatVector a30 = FloatVector.fromArray(F, res, o + 3 * TT), a31 = FloatVector.fromArray(F, res, o + 3 * TT + FL);
        for (int base = first; base < end; base += period) {
            for (int p = 0; p < parts; p++) {
                int k = base + p * FL;
                int xi = xOff + k * TT;
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
