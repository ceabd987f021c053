package dev.tandem.kernels;

import static dev.tandem.kernels.Vec.F;
import static dev.tandem.kernels.Vec.FL;
import static dev.tandem.kernels.Vec.I;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Batched Q8_0/Q4_0 matmul with the weights of FL rows in one vector's lanes and the tokens broadcast:
 * {@link IntDot}'s arithmetic, every value the matvec's bit for bit, at any batch from 2 without wasted
 * lanes.
 *
 * <p><b>Why.</b> {@link TokenVectorGemm} puts 16 tokens in the lanes, so a batch of 4 fills a quarter
 * of every FMA and each FMA needs its own weight broadcast; the per-row kernels ({@link TokenRows})
 * redo the integer widening per token. Here a register tile is {@link #RV} row vectors (2 x 16 rows)
 * by {@link #T} tokens: per element, RV weight loads (bytes, converted to floats on load) and T
 * activation broadcasts feed RV * T FMAs. One thread, 2048 x 2048 bytes streamed, 4 tokens: 75-83
 * GMAC/s, against 25 for TokenRows and 33 for TokenVectorGemm at 16 tokens (docs/benchmarks.md,
 * "Rows in lanes"). A batch's last 2 tokens take a tile of {@link #PAIR} ({@link #kernel2}), a last one a tile of
 * one ({@link #kernel1}).
 *
 * <p><b>The same order as the matvec.</b> Per (row, token) the 8 integer lanes of each block (elements
 * 2k, 2k+1, 16+2k, 17+2k) are summed exactly in fp32 (|sum| &lt; 2^17): a multiply, then three FMAs;
 * then acc_k = fma(sum, d_w * d_a, acc_k) block after block from +0; at the end IntDot's butterfly
 * ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)). The vectors only hold 16 rows' instances of those scalar
 * operations side by side.
 *
 * <p><b>The weights</b> come from a copy laid out for this ({@link RowLaneCopy}), one byte each, or Q4_0's two a
 * byte ({@link #weights} shifts them out).
 */
final class RowLaneGemm {
    private RowLaneGemm() {}

    /** Tokens per register tile. */
    static final int T = 4;
    /** Tokens of the tile that takes a batch's last 2 ({@link #kernel2}). */
    static final int PAIR = 2;
    /** Row vectors per register tile. */
    static final int RV = 2;
    /** Rows per register tile. */
    static final int GROUP = RV * FL;
    private static final int BLOCK = Q8Activations.BLOCK;
    private static final int LANES = 8;
    /** FL weights of one element: converted to FL floats per load. */
    private static final VectorSpecies<Byte> WB = FL >= 8 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(FL * 8)) : null;

    /**
     * Every batch from 2 on vectors of 256 bits and more, prefill included: one thread, 2048 x 2048, it
     * beat every other batched kernel from 2 tokens (Q4_0: 1.1x, Q8_0: 1.8x) to 256 (1.2x against IntGemm);
     * TinyLlama end to end, docs/benchmarks.md, "Rows in lanes".
     */
    static boolean serves(int batch) {
        return IntDot.VECTOR && FL >= 8 && batch >= 2 && KernelConfig.rowLanes();
    }

    /**
     * out[t*rows + r] = dotQ8(r, a, t) for every row r and activation row t, or false (nothing written)
     * when the matrix has no copy.
     */
    static boolean matmul(IntDot.Format w, Q8Activations a, float[] out) {
        return matmulEach(new IntDot.Format[] {w}, a, new float[][] {out});
    }

    /**
     * {@link #matmul} of each ws[i] into outs[i] on the same activations: packed once, the register-tile
     * row groups of all matrices, numbered one after the other, split over the pool. False (nothing
     * written) when a matrix has no copy.
     */
    static boolean matmulEach(IntDot.Format[] ws, Q8Activations a, float[][] outs) {
        int cols = a.cols(), blocks = cols / BLOCK, batch = a.rows();
        RowLaneCopy[] copies = new RowLaneCopy[ws.length];
        int[] firstGroup = new int[ws.length + 1];
        for (int i = 0; i < ws.length; i++) {
            if (ws[i].cols() != cols) {
                throw new IllegalArgumentException("activations of " + cols + " columns for a matrix of " + ws[i].cols());
            }
            copies[i] = ws[i].rowLanes().get(ws[i], (ws[i].rows() + GROUP - 1) / GROUP * RV);
            if (copies[i] == null) {
                return false;
            }
            firstGroup[i + 1] = Math.addExact(firstGroup[i], copies[i].rowVectors / RV);
        }
        // Whole tiles of T tokens, then the rest as one tile of that many (1, 2) or of T (3): padded to 4 a
        // batch of 2 ran at half a batch of 4's GMAC/s, below batch 1's (one thread, 2048 x 2048 streamed:
        // 12.6-12.8 -> 14.8-14.9 with the tile of 2); a last token alone in a tile of 2, batches 5 and 9
        // ran 1.10-1.11x as fast with the tile of 1.
        int whole = batch / T, rest = batch - whole * T;
        int lastTokens = rest <= PAIR ? rest : T;
        int tiles = whole + (rest == 0 ? 0 : 1);
        BatchScratch scratch = BatchScratch.ofThread(); // reused: fresh arrays were megabytes a prefill call
        float[] xt = scratch.packedActivations(tiles, T, cols, batch), dt = scratch.packedScales(tiles, T, blocks, batch);
        for (int tile = 0; tile < whole; tile++) {
            IntGemm.pack(a, tile, T, xt, dt);
        }
        if (lastTokens != 0) { // tile index whole * T / lastTokens: the offsets continue where the whole tiles end
            IntGemm.pack(a, whole * T / lastTokens, lastTokens, xt, dt);
        }
        Parallel.forRange(firstGroup[ws.length], 1, (start, end) -> {
            float[] acc = new float[LANES * RV * T * FL];
            int i = 0;
            for (int g = start; g < end; g++) {
                while (g >= firstGroup[i + 1]) {
                    i++;
                }
                RowLaneCopy c = copies[i];
                int v0 = (g - firstGroup[i]) * RV, laneBytes = blocks * c.laneBlockBytes();
                for (int tile = 0; tile < tiles; tile++) {
                    int tt = tile < whole ? T : lastTokens, t0 = tile * T;
                    int xOff = AlignedFloats.FIRST + t0 * cols;
                    for (int lane = 0; lane < LANES; lane++) {
                        int w0 = (v0 * LANES + lane) * laneBytes, xBase = xOff + lane * blocks * 4 * tt, accOff = lane * RV * tt * FL;
                        if (tt == T) {
                            kernel(c.q, c.nibbles, w0, LANES * laneBytes, blocks, xt, xBase, c.d, v0 * blocks * FL, dt, t0 * blocks, acc, accOff);
                        } else if (tt == 1) {
                            kernel1(c.q, c.nibbles, w0, LANES * laneBytes, blocks, xt, xBase, c.d, v0 * blocks * FL, dt, t0 * blocks, acc, accOff);
                        } else {
                            kernel2(c.q, c.nibbles, w0, LANES * laneBytes, blocks, xt, xBase, c.d, v0 * blocks * FL, dt, t0 * blocks, acc, accOff);
                        }
                    }
                    finish(acc, t0, Math.min(tt, batch - t0), tt, outs[i], ws[i].rows(), v0 * FL);
                }
            }
        });
        return true;
    }

    /**
     * Element e (0..3) of a lane's block of FL rows from at: a byte each, or of a nibble copy the low (e
     * even) or high nibbles of the FL bytes at e / 2, widened to ints and shifted out.
     */
    private static FloatVector weights(byte[] q, boolean nibbles, int at, int e) {
        if (!nibbles) {
            return (FloatVector) ByteVector.fromArray(WB, q, at + e * FL).convertShape(VectorOperators.B2F, F, 0);
        }
        IntVector x = (IntVector) ByteVector.fromArray(WB, q, at + (e >> 1) * FL).convertShape(VectorOperators.B2I, I, 0);
        IntVector y = (e & 1) == 0 ? x.lanewise(VectorOperators.LSHL, 28).lanewise(VectorOperators.ASHR, 28) : x.lanewise(VectorOperators.ASHR, 4);
        return (FloatVector) y.convert(VectorOperators.I2F, 0);
    }

    private static FloatVector act(float[] xt, int at) {
        return FloatVector.broadcast(F, xt[at]);
    }

    /**
     * One lane of 2 row vectors against 4 tokens over all blocks: per block each (row vector, token)
     * product summed exactly over the lane's 4 elements, then fma'd into the accumulator with its
     * scale d_w * d_a (the matvec's very multiply: the row vectors' block scales wd from wdOff, the
     * tokens' dt from dOff). Named locals, since an array of vectors would be boxed.
     *
     * <p>The scales are multiplied here, per lane, rather than once per tile into an array the 8 lane
     * passes read: that pass over the copy's scales and its 16-32 KiB of stores took 10-18 % of a
     * batched decode step (JFR), and without it the kernels ran 1.02-1.14x as fast (kernels-ab, batches
     * 2-256, docs/benchmarks.md "Rows in lanes without a scales pass").
     */
    private static void kernel(byte[] q, boolean nibbles, int w0, int vStride, int blocks, float[] xt, int xBase, float[] wd, int wdOff,
                               float[] dt, int dOff, float[] acc, int accOff) {
        int w1 = w0 + vStride;
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z;
        for (int blk = 0; blk < blocks; blk++) {
            int o = blk * (nibbles ? 2 : 4) * FL, xi = xBase + blk * 4 * T;
            FloatVector v0 = weights(q, nibbles, w0 + o, 0), v1 = weights(q, nibbles, w1 + o, 0);
            FloatVector x0 = act(xt, xi), x1 = act(xt, xi + 1), x2 = act(xt, xi + 2), x3 = act(xt, xi + 3);
            FloatVector p00 = v0.mul(x0), p01 = v0.mul(x1), p02 = v0.mul(x2), p03 = v0.mul(x3);
            FloatVector p10 = v1.mul(x0), p11 = v1.mul(x1), p12 = v1.mul(x2), p13 = v1.mul(x3);
            for (int e = 1; e < 4; e++) {
                v0 = weights(q, nibbles, w0 + o, e);
                v1 = weights(q, nibbles, w1 + o, e);
                int xe = xi + e * T;
                x0 = act(xt, xe);
                x1 = act(xt, xe + 1);
                x2 = act(xt, xe + 2);
                x3 = act(xt, xe + 3);
                p00 = v0.fma(x0, p00);
                p01 = v0.fma(x1, p01);
                p02 = v0.fma(x2, p02);
                p03 = v0.fma(x3, p03);
                p10 = v1.fma(x0, p10);
                p11 = v1.fma(x1, p11);
                p12 = v1.fma(x2, p12);
                p13 = v1.fma(x3, p13);
            }
            FloatVector d0 = FloatVector.fromArray(F, wd, wdOff + blk * FL), d1 = FloatVector.fromArray(F, wd, wdOff + (blocks + blk) * FL);
            int dd = dOff + blk * T;
            float t0 = dt[dd], t1 = dt[dd + 1], t2 = dt[dd + 2], t3 = dt[dd + 3];
            a00 = p00.fma(d0.mul(t0), a00);
            a01 = p01.fma(d0.mul(t1), a01);
            a02 = p02.fma(d0.mul(t2), a02);
            a03 = p03.fma(d0.mul(t3), a03);
            a10 = p10.fma(d1.mul(t0), a10);
            a11 = p11.fma(d1.mul(t1), a11);
            a12 = p12.fma(d1.mul(t2), a12);
            a13 = p13.fma(d1.mul(t3), a13);
        }
        a00.intoArray(acc, accOff);
        a01.intoArray(acc, accOff + FL);
        a02.intoArray(acc, accOff + 2 * FL);
        a03.intoArray(acc, accOff + 3 * FL);
        a10.intoArray(acc, accOff + 4 * FL);
        a11.intoArray(acc, accOff + 5 * FL);
        a12.intoArray(acc, accOff + 6 * FL);
        a13.intoArray(acc, accOff + 7 * FL);
    }

    /** {@link #kernel} for a tile of {@link #PAIR} tokens: the same operations per (row, token), a quarter of the register tile. */
    private static void kernel2(byte[] q, boolean nibbles, int w0, int vStride, int blocks, float[] xt, int xBase, float[] wd, int wdOff, float[] dt, int dOff,
                                float[] acc, int accOff) {
        int w1 = w0 + vStride;
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a10 = z, a11 = z;
        for (int blk = 0; blk < blocks; blk++) {
            int o = blk * (nibbles ? 2 : 4) * FL, xi = xBase + blk * 4 * PAIR;
            FloatVector v0 = weights(q, nibbles, w0 + o, 0), v1 = weights(q, nibbles, w1 + o, 0);
            FloatVector x0 = act(xt, xi), x1 = act(xt, xi + 1);
            FloatVector p00 = v0.mul(x0), p01 = v0.mul(x1), p10 = v1.mul(x0), p11 = v1.mul(x1);
            for (int e = 1; e < 4; e++) {
                v0 = weights(q, nibbles, w0 + o, e);
                v1 = weights(q, nibbles, w1 + o, e);
                int xe = xi + e * PAIR;
                x0 = act(xt, xe);
                x1 = act(xt, xe + 1);
                p00 = v0.fma(x0, p00);
                p01 = v0.fma(x1, p01);
                p10 = v1.fma(x0, p10);
                p11 = v1.fma(x1, p11);
            }
            FloatVector d0 = FloatVector.fromArray(F, wd, wdOff + blk * FL), d1 = FloatVector.fromArray(F, wd, wdOff + (blocks + blk) * FL);
            float t0 = dt[dOff + blk * PAIR], t1 = dt[dOff + blk * PAIR + 1];
            a00 = p00.fma(d0.mul(t0), a00);
            a01 = p01.fma(d0.mul(t1), a01);
            a10 = p10.fma(d1.mul(t0), a10);
            a11 = p11.fma(d1.mul(t1), a11);
        }
        a00.intoArray(acc, accOff);
        a01.intoArray(acc, accOff + FL);
        a10.intoArray(acc, accOff + 2 * FL);
        a11.intoArray(acc, accOff + 3 * FL);
    }

    /** {@link #kernel} for a tile of one token (a batch's last when it leaves one over): the same operations per (row, token). */
    private static void kernel1(byte[] q, boolean nibbles, int w0, int vStride, int blocks, float[] xt, int xBase, float[] wd, int wdOff, float[] dt, int dOff,
                                float[] acc, int accOff) {
        int w1 = w0 + vStride;
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a10 = z;
        for (int blk = 0; blk < blocks; blk++) {
            int o = blk * (nibbles ? 2 : 4) * FL, xi = xBase + blk * 4;
            FloatVector v0 = weights(q, nibbles, w0 + o, 0), v1 = weights(q, nibbles, w1 + o, 0);
            FloatVector x0 = act(xt, xi);
            FloatVector p00 = v0.mul(x0), p10 = v1.mul(x0);
            for (int e = 1; e < 4; e++) {
                v0 = weights(q, nibbles, w0 + o, e);
                v1 = weights(q, nibbles, w1 + o, e);
                x0 = act(xt, xi + e);
                p00 = v0.fma(x0, p00);
                p10 = v1.fma(x0, p10);
            }
            FloatVector d0 = FloatVector.fromArray(F, wd, wdOff + blk * FL), d1 = FloatVector.fromArray(F, wd, wdOff + (blocks + blk) * FL);
            float t0 = dt[dOff + blk];
            a00 = p00.fma(d0.mul(t0), a00);
            a10 = p10.fma(d1.mul(t0), a10);
        }
        a00.intoArray(acc, accOff);
        a10.intoArray(acc, accOff + FL);
    }

    /**
     * IntDot's butterfly over the 8 lane accumulators of a tile of tt tokens from token t0 (n of them
     * real), FL rows at a time, into out (padding rows and tokens dropped).
     */
    private static void finish(float[] acc, int t0, int n, int tt, float[] out, int rows, int r0) {
        int stride = RV * tt * FL;
        for (int v = 0; v < RV; v++) {
            int first = r0 + v * FL;
            if (first >= rows) {
                return;
            }
            for (int t = 0; t < n; t++) {
                int o = (v * tt + t) * FL;
                FloatVector s0 = lane(acc, 0, stride, o).add(lane(acc, 4, stride, o));
                FloatVector s1 = lane(acc, 1, stride, o).add(lane(acc, 5, stride, o));
                FloatVector s2 = lane(acc, 2, stride, o).add(lane(acc, 6, stride, o));
                FloatVector s3 = lane(acc, 3, stride, o).add(lane(acc, 7, stride, o));
                FloatVector sum = s0.add(s2).add(s1.add(s3));
                int at = (t0 + t) * rows + first;
                if (first + FL <= rows) {
                    sum.intoArray(out, at);
                } else {
                    for (int i = 0; i < rows - first; i++) {
                        out[at + i] = sum.lane(i);
                    }
                }
            }
        }
    }

    private static FloatVector lane(float[] acc, int lane, int stride, int o) {
        return FloatVector.fromArray(F, acc, lane * stride + o);
    }
}
