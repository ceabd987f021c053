package dev.tandem.kernels;

import static dev.tandem.kernels.Vec.F;

import jdk.incubator.vector.FloatVector;

/**
 * A block-quantized format's {@code dot} for several activation rows per pass, with the very
 * arithmetic of that dot: per 32-value block a fresh accumulator takes the block's quants times x in
 * the format's order, the block sum is scaled into one of two accumulators (even blocks, odd blocks),
 * and the two are added and summed in {@link Vec#sum}'s order. The row's quants are unpacked once
 * (exactly, as floats) and serve four activation rows at a time, so a batched matmul reads each
 * weight once per tile and yet gives every row exactly what a matvec gives it.
 */
final class QuantBatchDot {
    private QuantBatchDot() {}

    static final int BLOCK = 32;

    /**
     * out[b*rows + r] for b in [b0, b1), from quants (cols) and scales (cols/32) of row r; order is
     * the in-block offsets in the order the format's dot multiplies them.
     */
    static void dots(float[] quants, float[] scales, int[] order, int cols, float[] x, int b0, int b1,
                     float[] out, int rows, int r) {
        int blocks = cols / BLOCK;
        int b = b0;
        for (; b + 3 < b1; b += 4) {
            int x0 = b * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
            FloatVector e0 = FloatVector.zero(F), e1 = e0, e2 = e0, e3 = e0; // even blocks
            FloatVector o0 = e0, o1 = e0, o2 = e0, o3 = e0;                 // odd blocks
            int blk = 0;
            for (; blk < blocks; blk++) {
                int j = blk * BLOCK;
                FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
                for (int o : order) {
                    FloatVector w = FloatVector.fromArray(F, quants, j + o);
                    s0 = w.fma(FloatVector.fromArray(F, x, x0 + j + o), s0);
                    s1 = w.fma(FloatVector.fromArray(F, x, x1 + j + o), s1);
                    s2 = w.fma(FloatVector.fromArray(F, x, x2 + j + o), s2);
                    s3 = w.fma(FloatVector.fromArray(F, x, x3 + j + o), s3);
                }
                FloatVector d = FloatVector.broadcast(F, scales[blk]);
                if ((blk & 1) == 0) {
                    e0 = s0.fma(d, e0); e1 = s1.fma(d, e1); e2 = s2.fma(d, e2); e3 = s3.fma(d, e3);
                } else {
                    o0 = s0.fma(d, o0); o1 = s1.fma(d, o1); o2 = s2.fma(d, o2); o3 = s3.fma(d, o3);
                }
            }
            out[b * rows + r] = Vec.sum(e0.add(o0));
            out[(b + 1) * rows + r] = Vec.sum(e1.add(o1));
            out[(b + 2) * rows + r] = Vec.sum(e2.add(o2));
            out[(b + 3) * rows + r] = Vec.sum(e3.add(o3));
        }
        for (; b < b1; b++) {
            int x0 = b * cols;
            FloatVector even = FloatVector.zero(F), odd = even;
            for (int blk = 0; blk < blocks; blk++) {
                int j = blk * BLOCK;
                FloatVector s = FloatVector.zero(F);
                for (int o : order) {
                    s = FloatVector.fromArray(F, quants, j + o).fma(FloatVector.fromArray(F, x, x0 + j + o), s);
                }
                FloatVector d = FloatVector.broadcast(F, scales[blk]);
                if ((blk & 1) == 0) {
                    even = s.fma(d, even);
                } else {
                    odd = s.fma(d, odd);
                }
            }
            out[b * rows + r] = Vec.sum(even.add(odd));
        }
    }
}
