package dev.tandem.kernels;

import static dev.tandem.kernels.Vec.F;
import static dev.tandem.kernels.Vec.FL;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Prefill matmul, out[b][r] = W[r] . x[b], shared by every format.
 *
 * <p>Blocking, from the outside in:
 * <ul>
 *   <li>rows are split over {@link Parallel}; each thread owns a contiguous range of weight rows;</li>
 *   <li>the batch is cut into tiles whose activations fit in about half of a core's L2, so a tile is
 *       read from cache once per weight row instead of from memory;</li>
 *   <li>for each tile, two weight rows at a time are dequantized once (exactly, with the format's
 *       vector dequantizeRow) into an L1-resident scratch, which turns every format into F32 and keeps
 *       the decode cost at 1/tile of the FMA work;</li>
 *   <li>a 2x4 register micro-kernel multiplies those two rows against four activation rows: 6 loads
 *       feed 8 independent FMA chains, so it is FMA-bound rather than load- or latency-bound.</li>
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
            float[] scratch = new float[2 * cols];
            for (int b0 = 0; b0 < batch; b0 += tile) {
                int b1 = Math.min(batch, b0 + tile);
                int r = start;
                for (; r + 1 < end; r += 2) {
                    w.dequantizeRow(r, scratch, 0);
                    w.dequantizeRow(r + 1, scratch, cols);
                    int b = b0;
                    for (; b + 3 < b1; b += 4) {
                        kernel2x4(scratch, cols, x, b, out, rows, r);
                    }
                    for (; b < b1; b++) {
                        out[b * rows + r] = Vec.dot(scratch, 0, x, b * cols, cols);
                        out[b * rows + r + 1] = Vec.dot(scratch, cols, x, b * cols, cols);
                    }
                }
                if (r < end) {
                    w.dequantizeRow(r, scratch, 0);
                    int b = b0;
                    for (; b + 3 < b1; b += 4) {
                        kernel1x4(scratch, cols, x, b, out, rows, r);
                    }
                    for (; b < b1; b++) {
                        out[b * rows + r] = Vec.dot(scratch, 0, x, b * cols, cols);
                    }
                }
            }
        });
    }

    /** Rows r, r+1 (w[0..cols), w[cols..2cols)) against activation rows b..b+3. */
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
        float s00 = a00.reduceLanes(VectorOperators.ADD), s01 = a01.reduceLanes(VectorOperators.ADD);
        float s02 = a02.reduceLanes(VectorOperators.ADD), s03 = a03.reduceLanes(VectorOperators.ADD);
        float s10 = a10.reduceLanes(VectorOperators.ADD), s11 = a11.reduceLanes(VectorOperators.ADD);
        float s12 = a12.reduceLanes(VectorOperators.ADD), s13 = a13.reduceLanes(VectorOperators.ADD);
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

    /** Row r (w[0..cols)) against activation rows b..b+3: the odd row left over by kernel2x4. */
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
        float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
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
