package dev.tandem.kernels;

import static dev.tandem.kernels.Vec.B;
import static dev.tandem.kernels.Vec.B_PARTS;
import static dev.tandem.kernels.Vec.F;
import static dev.tandem.kernels.Vec.FL;
import static dev.tandem.kernels.Vec.LE;
import static dev.tandem.kernels.Vec.SHORT_LE;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/** Q8_0 weights: blocks of {f16 d; int8 q[32]} (34 bytes), value = q*d. */
public final class Q8_0Matrix extends WeightMatrix {
    static final int BLOCK = 32;
    static final int BLOCK_BYTES = 34;

    Q8_0Matrix(MemorySegment data, int rows, int cols) { super(data, rows, cols); }

    @Override public WeightFormat format() { return WeightFormat.Q8_0; }

    @Override
    public float dot(int row, float[] x, int xOff) {
        if (!Vec.ENABLED) {
            return dotScalar(row, x, xOff);
        }
        long base = rowOffset(row);
        int blocks = cols / BLOCK;
        // Two blocks per iteration into two accumulators: with one, the scale FMA's latency (one
        // dependent FMA per block) and not memory would bound the loop.
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int blk = 0;
        for (; blk + 1 < blocks; blk += 2) {
            long o = base + (long) blk * BLOCK_BYTES;
            int xj = xOff + blk * BLOCK;
            acc0 = blockDot(o, x, xj).fma(scale(o), acc0);
            acc1 = blockDot(o + BLOCK_BYTES, x, xj + BLOCK).fma(scale(o + BLOCK_BYTES), acc1);
        }
        if (blk < blocks) {
            long o = base + (long) blk * BLOCK_BYTES;
            acc0 = blockDot(o, x, xOff + blk * BLOCK).fma(scale(o), acc0);
        }
        return Vec.sum(acc0.add(acc1));
    }

    /** The block's scale d in every lane. */
    private FloatVector scale(long o) {
        return FloatVector.broadcast(F, Float.float16ToFloat(data.get(SHORT_LE, o)));
    }

    /**
     * The unscaled q.x of the block at byte offset o, in lanes: a 128-bit ByteVector widens to 16 float
     * lanes on AVX-512, so two loads cover the block with no per-element scalar work.
     */
    private FloatVector blockDot(long o, float[] x, int xj) {
        FloatVector s = FloatVector.zero(F);
        for (int k = 0; k < BLOCK; k += B.length()) {
            ByteVector q = ByteVector.fromMemorySegment(B, data, o + 2 + k, LE);
            for (int p = 0; p < B_PARTS; p++) {
                s = Vec.bytesToFloat(q, p).fma(FloatVector.fromArray(F, x, xj + k + p * FL), s);
            }
        }
        return s;
    }

    /** In-block offsets in the order {@link #blockDot} multiplies them. */
    private static final int[] DOT_ORDER = dotOrder();

    private static int[] dotOrder() {
        int[] order = new int[BLOCK / FL];
        int i = 0;
        for (int k = 0; k < BLOCK; k += B.length()) {
            for (int p = 0; p < B_PARTS; p++) {
                order[i++] = k + p * FL;
            }
        }
        return order;
    }

    @Override
    protected float[] batchScratch() {
        return new float[cols + cols / BLOCK];
    }

    /** The row's quants (exact as floats) and scales unpacked once, then {@link #dot}'s arithmetic per b. */
    @Override
    protected void batchDot(int row, float[] x, int b0, int b1, float[] out, float[] scratch) {
        long base = rowOffset(row);
        int blocks = cols / BLOCK;
        float[] scales = new float[blocks];
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * BLOCK_BYTES;
            scales[blk] = Float.float16ToFloat(data.get(SHORT_LE, o));
            for (int k = 0; k < BLOCK; k += B.length()) {
                ByteVector q = ByteVector.fromMemorySegment(B, data, o + 2 + k, LE);
                for (int p = 0; p < B_PARTS; p++) {
                    Vec.bytesToFloat(q, p).intoArray(scratch, blk * BLOCK + k + p * FL);
                }
            }
        }
        QuantBatchDot.dots(scratch, scales, DOT_ORDER, cols, x, b0, b1, out, rows, row);
    }

    @Override
    public float dotScalar(int row, float[] x, int xOff) {
        long base = rowOffset(row);
        int blocks = cols / BLOCK;
        float sum = 0f;
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * BLOCK_BYTES;
            int xj = xOff + blk * BLOCK;
            float s = 0f;
            for (int k = 0; k < BLOCK; k++) {
                s += data.get(ValueLayout.JAVA_BYTE, o + 2 + k) * x[xj + k];
            }
            sum += s * Float.float16ToFloat(data.get(SHORT_LE, o));
        }
        return sum;
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int dstOff) {
        long base = rowOffset(row);
        int blocks = cols / BLOCK;
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * BLOCK_BYTES;
            int dj = dstOff + blk * BLOCK;
            float d = Float.float16ToFloat(data.get(SHORT_LE, o));
            // q*d is exact in fp32 (8-bit times 11-bit significands), so both paths give identical values.
            if (Vec.ENABLED) {
                for (int k = 0; k < BLOCK; k += B.length()) {
                    ByteVector q = ByteVector.fromMemorySegment(B, data, o + 2 + k, LE);
                    for (int p = 0; p < B_PARTS; p++) {
                        Vec.bytesToFloat(q, p).mul(d).intoArray(dst, dj + k + p * FL);
                    }
                }
            } else {
                for (int k = 0; k < BLOCK; k++) {
                    dst[dj + k] = data.get(ValueLayout.JAVA_BYTE, o + 2 + k) * d;
                }
            }
        }
    }
}
