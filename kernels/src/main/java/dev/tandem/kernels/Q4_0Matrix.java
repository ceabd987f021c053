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

/**
 * Q4_0 weights: blocks of {f16 d; uint8 qs[16]} (18 bytes). Byte i holds element i in its low nibble
 * and element i+16 in its high nibble; value = (nibble-8)*d.
 */
public final class Q4_0Matrix extends WeightMatrix {
    static final int BLOCK = 32;
    static final int HALF = 16;
    static final int BLOCK_BYTES = 18;

    Q4_0Matrix(MemorySegment data, int rows, int cols) { super(data, rows, cols); }

    @Override public WeightFormat format() { return WeightFormat.Q4_0; }

    @Override
    public float dot(int row, float[] x, int xOff) {
        if (!Vec.ENABLED) {
            return dotScalar(row, x, xOff);
        }
        long base = rowOffset(row);
        int blocks = cols / BLOCK;
        // Two blocks per iteration into two accumulators, so the scale FMA's latency does not bound it.
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
     * The unscaled (nibble-8).x of the block at byte offset o, in lanes. Nibbles are split with lanewise
     * AND / unsigned shift on the bytes and recentred to [-8, 7] while still bytes, then widened:
     * low nibbles pair with x[0..16), high ones with x[16..32).
     */
    private FloatVector blockDot(long o, float[] x, int xj) {
        FloatVector s = FloatVector.zero(F);
        for (int k = 0; k < HALF; k += B.length()) {
            ByteVector qs = ByteVector.fromMemorySegment(B, data, o + 2 + k, LE);
            ByteVector lo = qs.and((byte) 0x0F).sub((byte) 8);
            ByteVector hi = highNibbles(qs).sub((byte) 8);
            for (int p = 0; p < B_PARTS; p++) {
                s = Vec.bytesToFloat(lo, p).fma(FloatVector.fromArray(F, x, xj + k + p * FL), s);
                s = Vec.bytesToFloat(hi, p).fma(FloatVector.fromArray(F, x, xj + HALF + k + p * FL), s);
            }
        }
        return s;
    }

    /**
     * Each byte's high nibble. x86 has no byte-lane shift (C2 widens and narrows to emulate one), so the
     * shift is done on 16-bit lanes and the bits that cross over from the neighbouring byte masked off.
     */
    private static ByteVector highNibbles(ByteVector qs) {
        return qs.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F);
    }

    /** In-block offsets in the order {@link #blockDot} multiplies them: low and high nibbles interleaved. */
    private static final int[] DOT_ORDER = dotOrder();

    private static int[] dotOrder() {
        int[] order = new int[BLOCK / FL];
        int i = 0;
        for (int k = 0; k < HALF; k += B.length()) {
            for (int p = 0; p < B_PARTS; p++) {
                order[i++] = k + p * FL;
                order[i++] = HALF + k + p * FL;
            }
        }
        return order;
    }

    @Override
    protected float[] batchScratch() {
        return new float[cols];
    }

    /** The row's recentred nibbles (exact as floats) and scales unpacked once, then {@link #dot}'s arithmetic per b. */
    @Override
    protected void batchDot(int row, float[] x, int b0, int b1, float[] out, float[] scratch) {
        long base = rowOffset(row);
        int blocks = cols / BLOCK;
        float[] scales = new float[blocks];
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * BLOCK_BYTES;
            scales[blk] = Float.float16ToFloat(data.get(SHORT_LE, o));
            for (int k = 0; k < HALF; k += B.length()) {
                ByteVector qs = ByteVector.fromMemorySegment(B, data, o + 2 + k, LE);
                ByteVector lo = qs.and((byte) 0x0F).sub((byte) 8);
                ByteVector hi = highNibbles(qs).sub((byte) 8);
                for (int p = 0; p < B_PARTS; p++) {
                    Vec.bytesToFloat(lo, p).intoArray(scratch, blk * BLOCK + k + p * FL);
                    Vec.bytesToFloat(hi, p).intoArray(scratch, blk * BLOCK + HALF + k + p * FL);
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
            for (int k = 0; k < HALF; k++) {
                int b = data.get(ValueLayout.JAVA_BYTE, o + 2 + k) & 0xFF;
                s += ((b & 0x0F) - 8) * x[xj + k] + ((b >>> 4) - 8) * x[xj + HALF + k];
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
            // (nibble-8)*d is exact in fp32, so both paths give identical values.
            if (Vec.ENABLED) {
                for (int k = 0; k < HALF; k += B.length()) {
                    ByteVector qs = ByteVector.fromMemorySegment(B, data, o + 2 + k, LE);
                    ByteVector lo = qs.and((byte) 0x0F).sub((byte) 8);
                    ByteVector hi = highNibbles(qs).sub((byte) 8);
                    for (int p = 0; p < B_PARTS; p++) {
                        Vec.bytesToFloat(lo, p).mul(d).intoArray(dst, dj + k + p * FL);
                        Vec.bytesToFloat(hi, p).mul(d).intoArray(dst, dj + HALF + k + p * FL);
                    }
                }
            } else {
                for (int k = 0; k < HALF; k++) {
                    int b = data.get(ValueLayout.JAVA_BYTE, o + 2 + k) & 0xFF;
                    dst[dj + k] = ((b & 0x0F) - 8) * d;
                    dst[dj + HALF + k] = ((b >>> 4) - 8) * d;
                }
            }
        }
    }
}
