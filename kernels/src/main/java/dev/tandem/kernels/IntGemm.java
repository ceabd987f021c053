package dev.tandem.kernels;

import static dev.tandem.kernels.Vec.F;
import static dev.tandem.kernels.Vec.FL;

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
 * 2-row x 2-vector register tile (two per 4-row group) does, per k, 2 activation loads, 2 weight
 * broadcasts and 4 FMAs.
 * Integer times integer and the sum of a lane's four products are exact in fp32 (|sum| &lt; 2^17), so
 * the FMAs compute IntDot's integer lane sums exactly.
 *
 * <p><b>The same order as the matvec.</b> IntDot combines each block's 8 integer lanes into 8 float
 * accumulators (lane k holds elements 2k, 2k+1, 16+2k, 17+2k of every block, one
 * fma(lane, d_w*d_a, acc) per block in block order) and adds the 8 in a fixed butterfly. This kernel
 * keeps those 8 accumulators per (row, token) in a small L1 array, runs lane by lane over all blocks
 * (the activations are stored lane-major, so each lane's are contiguous), and finishes with the same
 * butterfly.
 * The cost of keeping the matvec's order is one combining FMA per 4 products (a ceiling of 80 % of
 * FMA peak) instead of one per 32; the matvec, which decode-bound code depends on, is unchanged.
 *
 * <p><b>Not pmaddwd.</b> C2's auto-vectoriser does emit vpmaddwd (16 products a instruction) for a
 * scalar loop over shorts, {@code p[i] = w[2i]*x[2i] + w[2i+1]*x[2i+1]}, but only for one (row, token)
 * at a time over contiguous arrays, with the pair sums stored and combined afterwards: measured 11
 * GMAC/s a thread against this kernel's 20 (docs/benchmarks.md, "Faster integer tiles"). That was the
 * AVX2 host; on the Zen 5 host JDK 25.0.3 left that loop scalar, without vpmaddwd or VNNI's vpdpwssd
 * (docs/benchmarks.md, session 16).
 */
final class IntGemm {
    private IntGemm() {}

    /** Tokens per tile: two float vectors. */
    static final int TT = 2 * FL;
    /** Weight rows per register tile. */
    private static final int R = 4;
    /** Weight rows decoded per panel: the panel (16 x cols floats) stays in L2 across the token tiles. */
    private static final int PANEL = 16;
    private static final int BLOCK = Q8Activations.BLOCK;
    /** Integer lanes per block (IntDot's arithmetic). */
    private static final int LANES = 8;
    /**
     * Blocks the 8 lane passes of a row group take together before moving on, the accumulators going
     * through memory in between (exactly: the same fmas in the same block order). Why: a lane pass
     * over a whole 2048-column row read 32 KiB of the tile's activations, 32 KiB of block scales and
     * touched every line of 32 KiB of weights, past Zen 5's 48 KiB L1, so each of the 8 passes
     * re-read scales and weights from L2; over 16 blocks the scales and weights (8 KiB each) stay in
     * L1 for all 8 passes (docs/benchmarks.md, "Prefill tiles in block ranges").
     */
    static final int BLOCK_RANGE = 16;

    /**
     * Whether the kernel takes all 4 rows of a group in one pass ({@link #kernel4}): 8 product and 8
     * accumulator vectors, 2 activations and a weight, 19 live vectors, which AVX-512's 32 registers
     * hold and AVX2's 16 do not. Each activation vector then feeds 8 FMAs instead of 4; alone, at 768
     * columns on one Zen 5 core, the loop ran at 62 GMAC/s against 36 for two 2-row passes
     * (docs/benchmarks.md). tandem.fourRowTiles: auto (the default: from 512-bit vectors), true or false;
     * the 256-bit test JVM forces it on, so every machine tests it.
     */
    static final boolean FOUR_ROWS = KernelConfig.fourRowTiles() < 0 ? FL >= 16 : KernelConfig.fourRowTiles() == 1;

    /**
     * A last partial tile of at least this many tokens is padded and tiled; a smaller one goes through
     * the per-token matvec ({@link IntDot.Format#dotRows}), which is faster than a mostly empty tile
     * (a tile's cost does not shrink with its tokens: 8 of 16 ran at half the per-row kernel's rate).
     */
    static final int MIN_TAIL = 3 * TT / 4;

    /**
     * Whether the token-tiled kernel serves a batch of this size: from one padded tile of
     * {@link #MIN_TAIL} tokens. Its weights are decoded to floats once per matmul, and that pays from
     * there: one thread, 2048 x 768, thread CPU time (docs/benchmarks.md, "Token tiles from 12 tokens"),
     * a padded tile against the per-row integer kernel ran at 1.07x (12 tokens, Q8_0; Q4_0 1.12x),
     * 1.2x (13), 1.25x (14), 1.4x (15), 16 tokens 1.4x; at 10 tokens it ran at 0.75x.
     * Where {@link ShortRowGemm} runs, it takes batches up to one token short of a full tile: against
     * a padded tile it ran at 1.34x (12 tokens, Q8_0; Q4_0 1.29x), 1.07x (14) and 0.9-0.95x (15;
     * docs/benchmarks.md, "Batched decode from widened rows").
     */
    static final int MIN_BATCH = KernelConfig.shortRows() && IntDot.WIDE ? Math.max(MIN_TAIL, TT - 1) : MIN_TAIL;

    static boolean serves(int batch) {
        return KernelConfig.tokenTiles() && IntDot.VECTOR && batch >= MIN_BATCH;
    }

    /**
     * Columns up to which a batch of one tile is tiled where {@link ShortRowGemm} runs. The tile's
     * activations (cols x TT floats) and its panel of decoded rows (PANEL x cols floats) are 48 KiB
     * each at 768 columns and 128 KiB at 2048, and at one tile nothing amortizes them: at 16 tokens,
     * two threads, ShortRowGemm ran stories110M's 768 x 2048 FFN down matrix ~1.4x as fast as the
     * tile and TinyLlama's 2048-column matrices 1.1-1.8x, while the tile kept its lead at 768
     * columns (docs/benchmarks.md, "Batched decode: the Q6_K classifier, one tile at 2048 columns").
     */
    static final int ONE_TILE_MAX_COLS = 1024;

    /** {@link #serves(int)} for a matrix of {@code cols} columns: one tile of wide rows goes to ShortRowGemm. */
    static boolean serves(int batch, int cols) {
        return serves(batch) && (batch > TT || cols <= ONE_TILE_MAX_COLS || !(KernelConfig.shortRows() && IntDot.WIDE));
    }

    /** out[t*rows + r] = dotQ8(r, a, t) for every row r and activation row t. */
    static void matmul(IntDot.Format w, Q8Activations a, float[] out) {
        matmulEach(new IntDot.Format[] {w}, a, new float[][] {out});
    }

    /**
     * {@link #matmul} of each ws[i] into outs[i], all on the same activations (a layer's Q, K and V,
     * or its W1 and W3): the activations are packed into tiles once, and the panels of all matrices,
     * numbered one after the other, share one pass over the pool. Every value is what
     * {@link #matmul} gives it alone, bit for bit (a panel's work does not depend on its neighbours).
     */
    static void matmulEach(IntDot.Format[] ws, Q8Activations a, float[][] outs) {
        int cols = a.cols(), blocks = cols / BLOCK, batch = a.rows();
        int tiles = batch / TT + (batch % TT >= MIN_TAIL ? 1 : 0);
        int tiledTokens = Math.min(batch, tiles * TT);
        BatchScratch scratch = BatchScratch.ofThread(); // reused: fresh arrays were megabytes a prefill call
        float[] xt = scratch.packedActivations(tiles, TT, cols, tiledTokens); // from AlignedFloats.FIRST, lines aligned where known
        float[] dt = scratch.packedScales(tiles, TT, blocks, tiledTokens);
        Parallel.forRange(tiles, 1, (start, end) -> {
            for (int tile = start; tile < end; tile++) {
                pack(a, tile, TT, xt, dt);
            }
        });
        int[] firstPanel = new int[ws.length + 1];
        for (int i = 0; i < ws.length; i++) {
            if (ws[i].cols() != cols) {
                throw new IllegalArgumentException("activations of " + cols + " columns for a matrix of " + ws[i].cols());
            }
            firstPanel[i + 1] = Math.addExact(firstPanel[i], (ws[i].rows() + PANEL - 1) / PANEL);
        }
        Parallel.forRange(firstPanel[ws.length], 1, (start, end) -> {
            float[] wq = new float[PANEL * cols];
            float[] ws0 = new float[PANEL * blocks];
            float[] sc = AlignedFloats.allocate(BLOCK_RANGE * R * TT);
            // every entry is written by the kernel calls before finish reads it
            float[] acc = new float[(PANEL / R) * LANES * R * TT];
            float[] lanes = new float[FL];
            // The panel's results, token-major, copied out once per panel: finish writing straight into
            // out touched each token's cache line of out four times per tile, 4 floats at a time (out is
            // 2 MiB at 256 x 2048, past L2), and the copy is 3-4 % faster (docs/benchmarks.md).
            float[] panelOut = new float[tiles * TT * PANEL];
            int i = 0;
            for (int q = start; q < end; q++) {
                while (q >= firstPanel[i + 1]) {
                    i++;
                }
                IntDot.Format w = ws[i];
                float[] out = outs[i];
                int rows = w.rows();
                int r0 = (q - firstPanel[i]) * PANEL, r1 = Math.min(rows, r0 + PANEL);
                int tiled = r0 + (r1 - r0) / R * R;
                for (int r = r0; r < tiled; r++) {
                    w.decodeInts(r, wq, (r - r0) * cols, ws0, (r - r0) * blocks);
                }
                for (int tile = 0; tile < tiles; tile++) {
                    int xOff = AlignedFloats.FIRST + tile * cols * TT;
                    // Block ranges outside the row groups: a range's activations (BLOCK_RANGE blocks of
                    // every lane) are read by all the panel's groups while they are in L1, instead of
                    // once per group from L2 or, at 5632 columns, from L3.
                    for (int b0 = 0; b0 < blocks; b0 += BLOCK_RANGE) {
                        int b1 = Math.min(blocks, b0 + BLOCK_RANGE);
                        for (int g = r0; g < tiled; g += R) {
                            int wOff = (g - r0) * cols, ao = (g - r0) / R * (LANES * R * TT);
                            scales(ws0, (g - r0) * blocks + b0, blocks, b1 - b0, dt, tile * blocks * TT + b0 * TT, sc);
                            for (int lane = 0; lane < LANES; lane++) {
                                if (FOUR_ROWS) {
                                    kernel4(wq, wOff, cols, xt, xOff, sc, acc, ao, lane, blocks, b0, b1);
                                } else {
                                    kernel(wq, wOff, cols, xt, xOff, sc, acc, ao, lane, blocks, 0, b0, b1);
                                    kernel(wq, wOff, cols, xt, xOff, sc, acc, ao, lane, blocks, 2, b0, b1);
                                }
                            }
                        }
                    }
                    for (int g = r0; g < tiled; g += R) {
                        finish(acc, (g - r0) / R * (LANES * R * TT), tile, panelOut, g - r0, lanes);
                    }
                }
                for (int t = 0; t < tiledTokens; t++) {
                    System.arraycopy(panelOut, t * PANEL, out, t * rows + r0, tiled - r0);
                }
                // The last panel's rows past a multiple of R, and the tokens past the tiles: the matvec's own dot.
                for (int t = 0; t < batch; t++) {
                    int from = t < tiledTokens ? tiled : r0;
                    if (from < r1) {
                        w.dotRows(from, r1, a, t, out, t * rows);
                    }
                }
            }
        });
    }

    /**
     * Tile {@code tile}'s integers (as floats) into xt in lane-major order, each position's TT tokens
     * contiguous: index FIRST + (lane*blocks + blk)*4 + m (FIRST = {@link AlignedFloats#FIRST}) holds
     * element blk*32 + 2*lane + (m/2)*16 + m%2, so
     * the kernel reads one lane's products for all blocks contiguously. Block scales into dt; padding
     * tokens stay 0. Tiles of tt tokens: TT here, one vector's in {@link TokenVectorGemm}.
     */
    static void pack(Q8Activations a, int tile, int tt, float[] xt, float[] dt) {
        int cols = a.cols(), blocks = cols / BLOCK;
        int xOff = AlignedFloats.FIRST + tile * cols * tt, dOff = tile * blocks * tt;
        int t0 = tile * tt, t1 = Math.min(a.rows(), t0 + tt);
        for (int t = t0; t < t1; t++) {
            int q = t * cols, c = xOff + (t - t0);
            for (int lane = 0; lane < LANES; lane++) {
                for (int blk = 0; blk < blocks; blk++) {
                    int i = (lane * blocks + blk) * 4, j = q + blk * BLOCK + 2 * lane;
                    xt[c + i * tt] = a.q[j];
                    xt[c + (i + 1) * tt] = a.q[j + 1];
                    xt[c + (i + 2) * tt] = a.q[j + 16];
                    xt[c + (i + 3) * tt] = a.q[j + 17];
                }
            }
            int d = t * blocks, k = dOff + (t - t0);
            for (int blk = 0; blk < blocks; blk++, k += tt) {
                dt[k] = a.d[d + blk];
            }
        }
    }

    /**
     * sc[FIRST + (blk*R + r)*TT + t] = d_w[r][blk] * d_a[t][blk] for the n blocks from the one at wsOff (dt at
     * dOff): the block pair's scale, the very float multiply of the matvec (d_w * d_a), computed once
     * per (row group, tile, block range) and used by all 8 lanes.
     */
    private static void scales(float[] ws, int wsOff, int blocks, int n, float[] dt, int dOff, float[] sc) {
        for (int blk = 0; blk < n; blk++) {
            FloatVector d0 = FloatVector.fromArray(F, dt, dOff + blk * TT);
            FloatVector d1 = FloatVector.fromArray(F, dt, dOff + blk * TT + FL);
            for (int r = 0; r < R; r++) {
                FloatVector dw = FloatVector.broadcast(F, ws[wsOff + r * blocks + blk]);
                int o = AlignedFloats.FIRST + (blk * R + r) * TT;
                dw.mul(d0).intoArray(sc, o);
                dw.mul(d1).intoArray(sc, o + FL);
            }
        }
    }

    /**
     * Lane {@code lane} of rows r0, r0+1 of the group (rows wOff/cols + r0 ..) against the tile's 2
     * token vectors, over all blocks: per block the lane's 4 products (elements 2*lane, 2*lane+1,
     * 16+2*lane, 17+2*lane) summed exactly in p.., then a.. = fma(p, scale, a..), block after block.
     * Two rows, so the 4 sums and 4 accumulators stay in registers with the activations (11 of AVX2's
     * 16): a 4-row tile had to keep its accumulators in memory, and its loads and stores bounded it.
     *
     * <p>Every array index is a loop invariant plus blk times a constant, so C2 hoists all range checks
     * out of the loop; an index like (lane*blocks + blk)*64 is not in the form its range-check
     * elimination recognises, and a check per load was left in the loop (with the 4 products as an inner
     * loop, 0.72 of the speed, docs/benchmarks.md). The 4 products are written out; the first is a
     * multiply: exact integers, so mul equals fma with +0 except for the sign of a zero product, and a
     * -0 sum cannot change an accumulator that is never -0 (it starts at +0 and only an exact -0 + -0
     * would make it -0), so the results are the matvec's bit for bit. Named locals, because an array of
     * vectors would be boxed.
     */
    private static void kernel(float[] wq, int wOff, int cols, float[] xt, int xOff, float[] sc, float[] acc, int ao,
                               int lane, int blocks, int r0, int blk0, int blk1) {
        int wa = wOff + r0 * cols + 2 * lane, wb = wa + cols;
        int xBase = xOff + lane * blocks * 4 * TT, sBase = AlignedFloats.FIRST + r0 * TT - blk0 * (R * TT);
        int o = ao + (lane * R + r0) * TT;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0;
        if (blk0 > 0) {
            a0 = FloatVector.fromArray(F, acc, o);
            a1 = FloatVector.fromArray(F, acc, o + FL);
            b0 = FloatVector.fromArray(F, acc, o + TT);
            b1 = FloatVector.fromArray(F, acc, o + TT + FL);
        }
        for (int blk = blk0; blk < blk1; blk++) {
            int xi = xBase + blk * (4 * TT), wi = wa + blk * BLOCK, vi = wb + blk * BLOCK, s = sBase + blk * (R * TT);
            FloatVector x0 = FloatVector.fromArray(F, xt, xi);
            FloatVector x1 = FloatVector.fromArray(F, xt, xi + FL);
            FloatVector wv = FloatVector.broadcast(F, wq[wi]);
            FloatVector p0 = wv.mul(x0), p1 = wv.mul(x1);
            wv = FloatVector.broadcast(F, wq[vi]);
            FloatVector q0 = wv.mul(x0), q1 = wv.mul(x1);
            x0 = FloatVector.fromArray(F, xt, xi + TT);
            x1 = FloatVector.fromArray(F, xt, xi + TT + FL);
            wv = FloatVector.broadcast(F, wq[wi + 1]);
            p0 = wv.fma(x0, p0);
            p1 = wv.fma(x1, p1);
            wv = FloatVector.broadcast(F, wq[vi + 1]);
            q0 = wv.fma(x0, q0);
            q1 = wv.fma(x1, q1);
            x0 = FloatVector.fromArray(F, xt, xi + 2 * TT);
            x1 = FloatVector.fromArray(F, xt, xi + 2 * TT + FL);
            wv = FloatVector.broadcast(F, wq[wi + 16]);
            p0 = wv.fma(x0, p0);
            p1 = wv.fma(x1, p1);
            wv = FloatVector.broadcast(F, wq[vi + 16]);
            q0 = wv.fma(x0, q0);
            q1 = wv.fma(x1, q1);
            x0 = FloatVector.fromArray(F, xt, xi + 3 * TT);
            x1 = FloatVector.fromArray(F, xt, xi + 3 * TT + FL);
            wv = FloatVector.broadcast(F, wq[wi + 17]);
            p0 = wv.fma(x0, p0);
            p1 = wv.fma(x1, p1);
            wv = FloatVector.broadcast(F, wq[vi + 17]);
            q0 = wv.fma(x0, q0);
            q1 = wv.fma(x1, q1);
            a0 = p0.fma(FloatVector.fromArray(F, sc, s), a0);
            a1 = p1.fma(FloatVector.fromArray(F, sc, s + FL), a1);
            b0 = q0.fma(FloatVector.fromArray(F, sc, s + TT), b0);
            b1 = q1.fma(FloatVector.fromArray(F, sc, s + TT + FL), b1);
        }
        a0.intoArray(acc, o);
        a1.intoArray(acc, o + FL);
        b0.intoArray(acc, o + TT);
        b1.intoArray(acc, o + TT + FL);
    }

    /**
     * {@link #kernel} for rows 0-3 of the group in one pass: per (row, token) exactly the same
     * operations in the same order (so the same bits), with each activation load shared by 4 rows.
     */
    private static void kernel4(float[] wq, int wOff, int cols, float[] xt, int xOff, float[] sc, float[] acc, int accOff,
                                int lane, int blocks, int blk0, int blk1) {
        int wa = wOff + 2 * lane, wb = wa + cols, wc = wb + cols, wd = wc + cols;
        int xBase = xOff + lane * blocks * 4 * TT, sBase = AlignedFloats.FIRST - blk0 * (R * TT);
        int ao = accOff + lane * R * TT;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
        if (blk0 > 0) {
            a0 = FloatVector.fromArray(F, acc, ao);
            a1 = FloatVector.fromArray(F, acc, ao + FL);
            b0 = FloatVector.fromArray(F, acc, ao + TT);
            b1 = FloatVector.fromArray(F, acc, ao + TT + FL);
            c0 = FloatVector.fromArray(F, acc, ao + 2 * TT);
            c1 = FloatVector.fromArray(F, acc, ao + 2 * TT + FL);
            d0 = FloatVector.fromArray(F, acc, ao + 3 * TT);
            d1 = FloatVector.fromArray(F, acc, ao + 3 * TT + FL);
        }
        for (int blk = blk0; blk < blk1; blk++) {
            int xi = xBase + blk * (4 * TT), o = blk * BLOCK, s = sBase + blk * (R * TT);
            FloatVector x0 = FloatVector.fromArray(F, xt, xi);
            FloatVector x1 = FloatVector.fromArray(F, xt, xi + FL);
            FloatVector wv = FloatVector.broadcast(F, wq[wa + o]);
            FloatVector p0 = wv.mul(x0), p1 = wv.mul(x1);
            wv = FloatVector.broadcast(F, wq[wb + o]);
            FloatVector q0 = wv.mul(x0), q1 = wv.mul(x1);
            wv = FloatVector.broadcast(F, wq[wc + o]);
            FloatVector u0 = wv.mul(x0), u1 = wv.mul(x1);
            wv = FloatVector.broadcast(F, wq[wd + o]);
            FloatVector v0 = wv.mul(x0), v1 = wv.mul(x1);
            x0 = FloatVector.fromArray(F, xt, xi + TT);
            x1 = FloatVector.fromArray(F, xt, xi + TT + FL);
            wv = FloatVector.broadcast(F, wq[wa + o + 1]);
            p0 = wv.fma(x0, p0);
            p1 = wv.fma(x1, p1);
            wv = FloatVector.broadcast(F, wq[wb + o + 1]);
            q0 = wv.fma(x0, q0);
            q1 = wv.fma(x1, q1);
            wv = FloatVector.broadcast(F, wq[wc + o + 1]);
            u0 = wv.fma(x0, u0);
            u1 = wv.fma(x1, u1);
            wv = FloatVector.broadcast(F, wq[wd + o + 1]);
            v0 = wv.fma(x0, v0);
            v1 = wv.fma(x1, v1);
            x0 = FloatVector.fromArray(F, xt, xi + 2 * TT);
            x1 = FloatVector.fromArray(F, xt, xi + 2 * TT + FL);
            wv = FloatVector.broadcast(F, wq[wa + o + 16]);
            p0 = wv.fma(x0, p0);
            p1 = wv.fma(x1, p1);
            wv = FloatVector.broadcast(F, wq[wb + o + 16]);
            q0 = wv.fma(x0, q0);
            q1 = wv.fma(x1, q1);
            wv = FloatVector.broadcast(F, wq[wc + o + 16]);
            u0 = wv.fma(x0, u0);
            u1 = wv.fma(x1, u1);
            wv = FloatVector.broadcast(F, wq[wd + o + 16]);
            v0 = wv.fma(x0, v0);
            v1 = wv.fma(x1, v1);
            x0 = FloatVector.fromArray(F, xt, xi + 3 * TT);
            x1 = FloatVector.fromArray(F, xt, xi + 3 * TT + FL);
            wv = FloatVector.broadcast(F, wq[wa + o + 17]);
            p0 = wv.fma(x0, p0);
            p1 = wv.fma(x1, p1);
            wv = FloatVector.broadcast(F, wq[wb + o + 17]);
            q0 = wv.fma(x0, q0);
            q1 = wv.fma(x1, q1);
            wv = FloatVector.broadcast(F, wq[wc + o + 17]);
            u0 = wv.fma(x0, u0);
            u1 = wv.fma(x1, u1);
            wv = FloatVector.broadcast(F, wq[wd + o + 17]);
            v0 = wv.fma(x0, v0);
            v1 = wv.fma(x1, v1);
            a0 = p0.fma(FloatVector.fromArray(F, sc, s), a0);
            a1 = p1.fma(FloatVector.fromArray(F, sc, s + FL), a1);
            b0 = q0.fma(FloatVector.fromArray(F, sc, s + TT), b0);
            b1 = q1.fma(FloatVector.fromArray(F, sc, s + TT + FL), b1);
            c0 = u0.fma(FloatVector.fromArray(F, sc, s + 2 * TT), c0);
            c1 = u1.fma(FloatVector.fromArray(F, sc, s + 2 * TT + FL), c1);
            d0 = v0.fma(FloatVector.fromArray(F, sc, s + 3 * TT), d0);
            d1 = v1.fma(FloatVector.fromArray(F, sc, s + 3 * TT + FL), d1);
        }
        int o = ao;
        a0.intoArray(acc, o);
        a1.intoArray(acc, o + FL);
        b0.intoArray(acc, o + TT);
        b1.intoArray(acc, o + TT + FL);
        c0.intoArray(acc, o + 2 * TT);
        c1.intoArray(acc, o + 2 * TT + FL);
        d0.intoArray(acc, o + 3 * TT);
        d1.intoArray(acc, o + 3 * TT + FL);
    }

    /**
     * IntDot's butterfly over the 8 lane accumulators, per (row, token), into the panel's output
     * buffer: panelOut[t*PANEL + row + r] for the group's rows from panel row {@code row} and every
     * token t of the tile (padding tokens included; they are never copied out).
     */
    private static void finish(float[] acc, int ao, int tile, float[] panelOut, int row, float[] lanes) {
        int stride = R * TT;
        for (int r = 0; r < R; r++) {
            for (int half = 0; half < 2; half++) {
                int o = ao + r * TT + half * FL;
                FloatVector t0 = lane(acc, 0, stride, o).add(lane(acc, 4, stride, o));
                FloatVector t1 = lane(acc, 1, stride, o).add(lane(acc, 5, stride, o));
                FloatVector t2 = lane(acc, 2, stride, o).add(lane(acc, 6, stride, o));
                FloatVector t3 = lane(acc, 3, stride, o).add(lane(acc, 7, stride, o));
                t0.add(t2).add(t1.add(t3)).intoArray(lanes, 0);
                int tok = tile * TT + half * FL;
                for (int i = 0; i < FL; i++) {
                    panelOut[(tok + i) * PANEL + row + r] = lanes[i];
                }
            }
        }
    }

    private static FloatVector lane(float[] acc, int lane, int stride, int o) {
        return FloatVector.fromArray(F, acc, lane * stride + o);
    }
}
