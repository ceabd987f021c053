package dev.tandem.kernels;

import static dev.tandem.kernels.Vec.F;
import static dev.tandem.kernels.Vec.FL;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * The integer-dot formats' matmul (Q8_0, Q4_0) vectorised over tokens instead of along K, with
 * exactly {@link IntDot}'s arithmetic for every (token, row), so each result is bit-identical to the
 * matvec's.
 *
 * <p><b>Why over tokens.</b> Vectorising along K (what the matvec does) needs a horizontal reduction
 * and a per-block scale vector for every (row, token) pair, and the Vector API has no
 * pmaddubsw/pmaddwd to make the integer products cheap. Here a vector holds FL tokens: the
 * activations of a tile of {@link #TT} tokens are stored K-major (for each k, the tile's tokens
 * contiguous), the weights are decoded once per panel to their small integers held as floats, and a
 * 4-row x 2-vector register tile does, per k, 2 activation loads, 4 weight broadcasts and 8 FMAs.
 * Integer times integer and the sum of a lane's four products are exact in fp32 (|sum| &lt; 2^17), so
 * the FMAs compute IntDot's integer lane sums exactly.
 *
 * <p><b>The same order as the matvec.</b> IntDot combines each block's 8 integer lanes into 8 float
 * accumulators (lane k holds elements 2k, 2k+1, 16+2k, 17+2k of every block, one
 * fma(lane, d_w*d_a, acc) per block in block order) and adds the 8 in a fixed butterfly. This kernel
 * keeps those 8 accumulators per (row, token) in a small L1 array, runs lane by lane over a chunk of
 * blocks (the chunk's activations stay in L1 for all 8 lanes), and finishes with the same butterfly.
 * The cost of keeping the matvec's order is one combining FMA per 4 products (a ceiling of 80 % of
 * FMA peak) instead of one per 32; the matvec, which decode-bound code depends on, is unchanged.
 */
final class IntGemm {
    private IntGemm() {}

    /** Tokens per tile: two float vectors. */
    static final int TT = 2 * FL;
    /** Weight rows per register tile. */
    private static final int R = 4;
    /** Weight rows decoded per panel: the panel (16 x cols floats) stays in L2 across the token tiles. */
    private static final int PANEL = 16;
    /** Blocks per K chunk: the tile's activations for one chunk (8*32*TT floats, 16 KiB at TT=16) stay in L1. */
    private static final int CHUNK_BLOCKS = 8;
    private static final int BLOCK = Q8Activations.BLOCK;
    /** Integer lanes per block (IntDot's arithmetic). */
    private static final int LANES = 8;

    /** Whether the token-tiled kernel serves a batch of this size (below one vector of tokens most lanes would be padding). */
    static boolean serves(int batch) {
        return KernelConfig.tokenTiles() && IntDot.VECTOR && batch >= FL;
    }

    /** out[t*rows + r] = dotQ8(r, a, t) for every row r and activation row t. */
    static void matmul(IntDot.Format w, Q8Activations a, float[] out) {
        int rows = w.rows(), cols = w.cols(), blocks = cols / BLOCK, batch = a.rows();
        int tiles = (batch + TT - 1) / TT;
        float[] xt = new float[tiles * cols * TT];
        float[] dt = new float[tiles * blocks * TT];
        Parallel.forRange(tiles, 1, (start, end) -> {
            for (int tile = start; tile < end; tile++) {
                pack(a, tile, xt, dt);
            }
        });
        int panels = (rows + PANEL - 1) / PANEL;
        Parallel.forRange(panels, 1, (start, end) -> {
            float[] wq = new float[PANEL * cols];
            float[] ws = new float[PANEL * blocks];
            float[] sc = new float[blocks * R * TT];
            float[] acc = new float[LANES * R * TT];
            float[] lanes = new float[FL];
            for (int p = start; p < end; p++) {
                int r0 = p * PANEL, r1 = Math.min(rows, r0 + PANEL);
                int tiled = r0 + (r1 - r0) / R * R;
                for (int r = r0; r < tiled; r++) {
                    w.decodeInts(r, wq, (r - r0) * cols, ws, (r - r0) * blocks);
                }
                for (int tile = 0; tile < tiles; tile++) {
                    int xOff = tile * cols * TT;
                    for (int g = r0; g < tiled; g += R) {
                        int wOff = (g - r0) * cols;
                        scales(ws, (g - r0) * blocks, blocks, dt, tile * blocks * TT, sc);
                        Arrays.fill(acc, 0f);
                        for (int b0 = 0; b0 < blocks; b0 += CHUNK_BLOCKS) {
                            kernel(wq, wOff, cols, xt, xOff, sc, acc, b0, Math.min(blocks, b0 + CHUNK_BLOCKS));
                        }
                        finish(acc, tile, batch, out, rows, g, lanes);
                    }
                }
                // The last panel's rows past a multiple of R: the matvec's own dot, per token.
                for (int r = tiled; r < r1; r++) {
                    for (int t = 0; t < batch; t++) {
                        w.dotRows(r, r + 1, a, t, out, t * rows);
                    }
                }
            }
        });
    }

    /** Tile {@code tile}'s integers (as floats) K-major into xt and its block scales into dt; padding tokens stay 0. */
    private static void pack(Q8Activations a, int tile, float[] xt, float[] dt) {
        int cols = a.cols(), blocks = cols / BLOCK;
        int xOff = tile * cols * TT, dOff = tile * blocks * TT;
        int t0 = tile * TT, t1 = Math.min(a.rows(), t0 + TT);
        for (int t = t0; t < t1; t++) {
            int q = t * cols, i = xOff + (t - t0);
            for (int j = 0; j < cols; j++, i += TT) {
                xt[i] = a.q[q + j];
            }
            int d = t * blocks, k = dOff + (t - t0);
            for (int blk = 0; blk < blocks; blk++, k += TT) {
                dt[k] = a.d[d + blk];
            }
        }
    }

    /**
     * sc[(blk*R + r)*TT + t] = d_w[r][blk] * d_a[t][blk]: the block pair's scale, the very float
     * multiply of the matvec (d_w * d_a), computed once per (row group, tile) and used by all 8 lanes.
     */
    private static void scales(float[] ws, int wsOff, int blocks, float[] dt, int dOff, float[] sc) {
        for (int blk = 0; blk < blocks; blk++) {
            FloatVector d0 = FloatVector.fromArray(F, dt, dOff + blk * TT);
            FloatVector d1 = FloatVector.fromArray(F, dt, dOff + blk * TT + FL);
            for (int r = 0; r < R; r++) {
                FloatVector dw = FloatVector.broadcast(F, ws[wsOff + r * blocks + blk]);
                int o = (blk * R + r) * TT;
                dw.mul(d0).intoArray(sc, o);
                dw.mul(d1).intoArray(sc, o + FL);
            }
        }
    }

    /**
     * Rows wOff/cols .. +3 of the panel against the tile's 2 token vectors, blocks [b0, b1), all 8
     * lanes: per (lane, block) the lane's 4 products summed exactly in p.., then
     * acc[lane][r][t] = fma(p, scale, acc[lane][r][t]). The 8 sums stay in named locals (an array of
     * vectors would be boxed by C2); the accumulators live in L1 and are touched once per 4 products.
     */
    private static void kernel(float[] wq, int wOff, int cols, float[] xt, int xOff, float[] sc, float[] acc, int b0, int b1) {
        int w1 = wOff + cols, w2 = w1 + cols, w3 = w2 + cols;
        for (int lane = 0; lane < LANES; lane++) {
            int aOff = lane * R * TT;
            for (int blk = b0; blk < b1; blk++) {
                int j = blk * BLOCK + 2 * lane;
                FloatVector p00 = FloatVector.zero(F), p01 = p00, p10 = p00, p11 = p00;
                FloatVector p20 = p00, p21 = p00, p30 = p00, p31 = p00;
                for (int m = 0; m < 4; m++) {
                    int k = j + (m >> 1) * 16 + (m & 1);
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
                int s = blk * R * TT;
                combine(p00, sc, s, acc, aOff);
                combine(p01, sc, s + FL, acc, aOff + FL);
                combine(p10, sc, s + TT, acc, aOff + TT);
                combine(p11, sc, s + TT + FL, acc, aOff + TT + FL);
                combine(p20, sc, s + 2 * TT, acc, aOff + 2 * TT);
                combine(p21, sc, s + 2 * TT + FL, acc, aOff + 2 * TT + FL);
                combine(p30, sc, s + 3 * TT, acc, aOff + 3 * TT);
                combine(p31, sc, s + 3 * TT + FL, acc, aOff + 3 * TT + FL);
            }
        }
    }

    private static void combine(FloatVector p, float[] sc, int s, float[] acc, int a) {
        p.fma(FloatVector.fromArray(F, sc, s), FloatVector.fromArray(F, acc, a)).intoArray(acc, a);
    }

    /** IntDot's butterfly over the 8 lane accumulators, per (row, token), into out for the tile's real tokens. */
    private static void finish(float[] acc, int tile, int batch, float[] out, int rows, int g, float[] lanes) {
        int stride = R * TT;
        for (int r = 0; r < R; r++) {
            for (int half = 0; half < 2; half++) {
                int o = r * TT + half * FL;
                FloatVector t0 = lane(acc, 0, stride, o).add(lane(acc, 4, stride, o));
                FloatVector t1 = lane(acc, 1, stride, o).add(lane(acc, 5, stride, o));
                FloatVector t2 = lane(acc, 2, stride, o).add(lane(acc, 6, stride, o));
                FloatVector t3 = lane(acc, 3, stride, o).add(lane(acc, 7, stride, o));
                t0.add(t2).add(t1.add(t3)).intoArray(lanes, 0);
                int tok = tile * TT + half * FL;
                for (int i = 0; i < FL && tok + i < batch; i++) {
                    out[(tok + i) * rows + g + r] = lanes[i];
                }
            }
        }
    }

    private static FloatVector lane(float[] acc, int lane, int stride, int o) {
        return FloatVector.fromArray(F, acc, lane * stride + o);
    }
}
