package dev.tandem.kernels;

import static dev.tandem.kernels.Vec.F;
import static dev.tandem.kernels.Vec.FL;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * F32's matmul, out[b][r] = W[r] . x[b], with exactly F32Matrix.dot's arithmetic for every (b, r).
 *
 * <p>Blocking, from the outside in:
 * <ul>
 *   <li>rows are split over {@link Parallel}; each thread owns a contiguous range of weight rows;</li>
 *   <li>the batch is cut into tiles whose activations fit in about half of a core's L2, so a tile is
 *       read from cache once per weight row instead of from memory;</li>
 *   <li>for each tile, four weight rows at a time are dequantized once (exactly, with the format's
 *       vector dequantizeRow) into an L1-resident scratch, which turns every format into F32 and keeps
 *       the decode cost at 1/tile of the FMA work;</li>
 *   <li>a 4x4 register micro-kernel multiplies those four rows against four activation rows: 8 loads
 *       feed 16 independent FMA chains (21 vector registers: AVX-512 has 32; on AVX2, with 16, some
 *       spill to L1), so it is FMA-bound rather than
 *       load- or latency-bound. 2x4 and 1x4 variants finish the last rows of a thread's range.</li>
 * </ul>
 */
final class Gemm {
    private Gemm() {}

    /** Activation bytes per batch tile: about half a core's L2. */
    private static final int TILE_BYTES = 512 * 1024;

    static void matmul(WeightMatrix w, float[] x, float[] out, int batch) {
        int rows = w.rows();
        int cols = w.cols();
        int tile = Math.clamp(TILE_BYTES / (4L * cols), 4, 256) & ~3;
        Parallel.forRange(rows, 8, (start, end) -> {
            float[] scratch = new float[4 * cols];
            for (int b0 = 0; b0 < batch; b0 += tile) {
                int b1 = Math.min(batch, b0 + tile);
                int r = start;
                for (; r + 3 < end; r += 4) {
                    for (int i = 0; i < 4; i++) {
                        w.dequantizeRow(r + i, scratch, i * cols);
                    }
                    int b = b0;
                    for (; b + 3 < b1; b += 4) {
                        kernel4x4(scratch, cols, x, b, out, rows, r);
                    }
                    for (; b < b1; b++) {
                        for (int i = 0; i < 4; i++) {
                            out[b * rows + r + i] = rowDot(scratch, i * cols, x, b * cols, cols);
                        }
                    }
                }
                for (; r + 1 < end; r += 2) {
                    w.dequantizeRow(r, scratch, 0);
                    w.dequantizeRow(r + 1, scratch, cols);
                    int b = b0;
                    for (; b + 3 < b1; b += 4) {
                        kernel2x4(scratch, cols, x, b, out, rows, r);
                    }
                    for (; b < b1; b++) {
                        out[b * rows + r] = rowDot(scratch, 0, x, b * cols, cols);
                        out[b * rows + r + 1] = rowDot(scratch, cols, x, b * cols, cols);
                    }
                }
                if (r < end) {
                    w.dequantizeRow(r, scratch, 0);
                    int b = b0;
                    for (; b + 3 < b1; b += 4) {
                        kernel1x4(scratch, cols, x, b, out, rows, r);
                    }
                    for (; b < b1; b++) {
                        out[b * rows + r] = rowDot(scratch, 0, x, b * cols, cols);
                    }
                }
            }
        });
    }

    /**
     * Rows r..r+3 (w[i*cols..(i+1)*cols)) against activation rows b..b+3: 16 accumulators, 8 loads.
     * The accumulators stay in named locals (an array of vectors would defeat C2's scalarisation and
     * box every vector, which measured ~20x slower).
     */
    private static void kernel4x4(float[] w, int cols, float[] x, int b, float[] out, int rows, int r) {
        int x0 = b * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        int w1 = cols, w2 = 2 * cols, w3 = 3 * cols;
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F), a02 = FloatVector.zero(F), a03 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F), a12 = FloatVector.zero(F), a13 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F), a21 = FloatVector.zero(F), a22 = FloatVector.zero(F), a23 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F), a31 = FloatVector.zero(F), a32 = FloatVector.zero(F), a33 = FloatVector.zero(F);
        int j = 0;
        for (int bound = cols - FL; j <= bound; j += FL) {
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + j);
            FloatVector v1 = FloatVector.fromArray(F, x, x1 + j);
            FloatVector v2 = FloatVector.fromArray(F, x, x2 + j);
            FloatVector v3 = FloatVector.fromArray(F, x, x3 + j);
            FloatVector wv = FloatVector.fromArray(F, w, j);
            a00 = wv.fma(v0, a00); a01 = wv.fma(v1, a01); a02 = wv.fma(v2, a02); a03 = wv.fma(v3, a03);
            wv = FloatVector.fromArray(F, w, w1 + j);
            a10 = wv.fma(v0, a10); a11 = wv.fma(v1, a11); a12 = wv.fma(v2, a12); a13 = wv.fma(v3, a13);
            wv = FloatVector.fromArray(F, w, w2 + j);
            a20 = wv.fma(v0, a20); a21 = wv.fma(v1, a21); a22 = wv.fma(v2, a22); a23 = wv.fma(v3, a23);
            wv = FloatVector.fromArray(F, w, w3 + j);
            a30 = wv.fma(v0, a30); a31 = wv.fma(v1, a31); a32 = wv.fma(v2, a32); a33 = wv.fma(v3, a33);
        }
        int o0 = b * rows + r, o1 = o0 + rows, o2 = o1 + rows, o3 = o2 + rows;
        out[o0] = finish(a00, w, 0, x, x0, j, cols);
        out[o1] = finish(a01, w, 0, x, x1, j, cols);
        out[o2] = finish(a02, w, 0, x, x2, j, cols);
        out[o3] = finish(a03, w, 0, x, x3, j, cols);
        out[o0 + 1] = finish(a10, w, w1, x, x0, j, cols);
        out[o1 + 1] = finish(a11, w, w1, x, x1, j, cols);
        out[o2 + 1] = finish(a12, w, w1, x, x2, j, cols);
        out[o3 + 1] = finish(a13, w, w1, x, x3, j, cols);
        out[o0 + 2] = finish(a20, w, w2, x, x0, j, cols);
        out[o1 + 2] = finish(a21, w, w2, x, x1, j, cols);
        out[o2 + 2] = finish(a22, w, w2, x, x2, j, cols);
        out[o3 + 2] = finish(a23, w, w2, x, x3, j, cols);
        out[o0 + 3] = finish(a30, w, w3, x, x0, j, cols);
        out[o1 + 3] = finish(a31, w, w3, x, x1, j, cols);
        out[o2 + 3] = finish(a32, w, w3, x, x2, j, cols);
        out[o3 + 3] = finish(a33, w, w3, x, x3, j, cols);
    }

    /**
     * One weight row against one activation row with the micro-kernels' (and F32's dot's)
     * arithmetic: one accumulator, then the scalar tail. Not {@link Vec#dot}, whose two accumulators
     * would give the rows left over from a 4-row group other bits than their neighbours.
     */
    private static float rowDot(float[] w, int wOff, float[] x, int xOff, int cols) {
        FloatVector acc = FloatVector.zero(F);
        int j = 0;
        for (int bound = cols - FL; j <= bound; j += FL) {
            acc = FloatVector.fromArray(F, w, wOff + j).fma(FloatVector.fromArray(F, x, xOff + j), acc);
        }
        return finish(acc, w, wOff, x, xOff, j, cols);
    }

    /** Lane sum of acc plus the scalar tail w[wOff+j..] . x[xOff+j..] up to cols. */
    private static float finish(FloatVector acc, float[] w, int wOff, float[] x, int xOff, int j, int cols) {
        float sum = Vec.sum(acc);
        for (; j < cols; j++) {
            sum += w[wOff + j] * x[xOff + j];
        }
        return sum;
    }

    /** Rows r, r+1 (w[0..cols), w[cols..2cols)) against activation rows b..b+3: the leftover pair. */
    private static void kernel2x4(float[] w, int cols, float[] x, int b, float[] out, int rows, int r) {
        int x0 = b * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F), a02 = FloatVector.zero(F), a03 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F), a12 = FloatVector.zero(F), a13 = FloatVector.zero(F);
        int j = 0;
        for (int bound = cols - FL; j <= bound; j += FL) {
            FloatVector w0 = FloatVector.fromArray(F, w, j);
            FloatVector w1 = FloatVector.fromArray(F, w, cols + j);
            FloatVector v = FloatVector.fromArray(F, x, x0 + j);
            a00 = w0.fma(v, a00);
            a10 = w1.fma(v, a10);
            v = FloatVector.fromArray(F, x, x1 + j);
            a01 = w0.fma(v, a01);
            a11 = w1.fma(v, a11);
            v = FloatVector.fromArray(F, x, x2 + j);
            a02 = w0.fma(v, a02);
            a12 = w1.fma(v, a12);
            v = FloatVector.fromArray(F, x, x3 + j);
            a03 = w0.fma(v, a03);
            a13 = w1.fma(v, a13);
        }
        float s00 = Vec.sum(a00), s01 = Vec.sum(a01);
        float s02 = Vec.sum(a02), s03 = Vec.sum(a03);
        float s10 = Vec.sum(a10), s11 = Vec.sum(a11);
        float s12 = Vec.sum(a12), s13 = Vec.sum(a13);
        for (; j < cols; j++) {
            float w0 = w[j];
            float w1 = w[cols + j];
            s00 += w0 * x[x0 + j];
            s01 += w0 * x[x1 + j];
            s02 += w0 * x[x2 + j];
            s03 += w0 * x[x3 + j];
            s10 += w1 * x[x0 + j];
            s11 += w1 * x[x1 + j];
            s12 += w1 * x[x2 + j];
            s13 += w1 * x[x3 + j];
        }
        out[b * rows + r] = s00;
        out[(b + 1) * rows + r] = s01;
        out[(b + 2) * rows + r] = s02;
        out[(b + 3) * rows + r] = s03;
        out[b * rows + r + 1] = s10;
        out[(b + 1) * rows + r + 1] = s11;
        out[(b + 2) * rows + r + 1] = s12;
        out[(b + 3) * rows + r + 1] = s13;
    }

    /** Row r (w[0..cols)) against activation rows b..b+3: the odd row left over. */
    private static void kernel1x4(float[] w, int cols, float[] x, int b, float[] out, int rows, int r) {
        int x0 = b * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        int j = 0;
        for (int bound = cols - FL; j <= bound; j += FL) {
            FloatVector w0 = FloatVector.fromArray(F, w, j);
            a0 = w0.fma(FloatVector.fromArray(F, x, x0 + j), a0);
            a1 = w0.fma(FloatVector.fromArray(F, x, x1 + j), a1);
            a2 = w0.fma(FloatVector.fromArray(F, x, x2 + j), a2);
            a3 = w0.fma(FloatVector.fromArray(F, x, x3 + j), a3);
        }
        float s0 = Vec.sum(a0), s1 = Vec.sum(a1);
        float s2 = Vec.sum(a2), s3 = Vec.sum(a3);
        for (; j < cols; j++) {
            float w0 = w[j];
            s0 += w0 * x[x0 + j];
            s1 += w0 * x[x1 + j];
            s2 += w0 * x[x2 + j];
            s3 += w0 * x[x3 + j];
        }
        out[b * rows + r] = s0;
        out[(b + 1) * rows + r] = s1;
        out[(b + 2) * rows + r] = s2;
        out[(b + 3) * rows + r] = s3;
    }
}
