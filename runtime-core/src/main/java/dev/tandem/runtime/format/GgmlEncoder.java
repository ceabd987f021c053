package dev.tandem.runtime.format;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Encodes float rows into ggml's storage formats, bit-compatible with ggml's reference quantizers
 * ({@code quantize_row_q8_0_ref}, {@code quantize_row_q4_0_ref}), so files written here load in
 * llama.cpp and vice versa.
 */
public final class GgmlEncoder {
    private GgmlEncoder() {}

    /** Types {@link #encode} can write. */
    public static boolean canEncode(GgmlType type) {
        return switch (type) {
            case F32, F16, BF16, Q8_0, Q4_0 -> true;
            default -> false;
        };
    }

    /**
     * Appends {@code count} values of {@code src} from {@code srcOff} to {@code dst} (which must be
     * little-endian) in {@code type}'s layout. {@code count} must be a multiple of the block size.
     */
    public static void encode(GgmlType type, float[] src, int srcOff, int count, ByteBuffer dst) {
        if (dst.order() != ByteOrder.LITTLE_ENDIAN) {
            throw new IllegalArgumentException("dst must be little-endian");
        }
        if (count % type.blockSize() != 0) {
            throw new IllegalArgumentException(type + " needs a multiple of " + type.blockSize() + " values, got " + count);
        }
        switch (type) {
            case F32 -> { for (int i = 0; i < count; i++) dst.putFloat(src[srcOff + i]); }
            case F16 -> { for (int i = 0; i < count; i++) dst.putShort(Float.floatToFloat16(src[srcOff + i])); }
            case BF16 -> { for (int i = 0; i < count; i++) dst.putShort(toBf16(src[srcOff + i])); }
            case Q8_0 -> { for (int b = 0; b < count; b += 32) q8_0Block(src, srcOff + b, dst); }
            case Q4_0 -> { for (int b = 0; b < count; b += 32) q4_0Block(src, srcOff + b, dst); }
            default -> throw new IllegalArgumentException("cannot encode " + type + " (encodable: F32, F16, BF16, Q8_0, Q4_0)");
        }
    }

    /** Round to nearest even, as ggml's fp32_to_bf16; NaN stays a quiet NaN. */
    public static short toBf16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) {
            return (short) ((u >>> 16) | 64);
        }
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    /** d = max|x|/127, q = round-half-away(x/d). */
    private static void q8_0Block(float[] x, int off, ByteBuffer dst) {
        float amax = 0;
        for (int j = 0; j < 32; j++) {
            amax = Math.max(amax, Math.abs(x[off + j]));
        }
        float d = amax / 127f;
        float id = d != 0 ? 1f / d : 0f;
        dst.putShort(Float.floatToFloat16(d));
        for (int j = 0; j < 32; j++) {
            dst.put((byte) roundHalfAway(x[off + j] * id));
        }
    }

    /** d = (value of largest magnitude)/-8; q = min(15, trunc(x/d + 8.5)); element j and j+16 share a byte. */
    private static void q4_0Block(float[] x, int off, ByteBuffer dst) {
        float amax = 0;
        float max = 0;
        for (int j = 0; j < 32; j++) {
            float v = x[off + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8f;
        float id = d != 0 ? 1f / d : 0f;
        dst.putShort(Float.floatToFloat16(d));
        for (int j = 0; j < 16; j++) {
            int lo = Math.min(15, (int) (x[off + j] * id + 8.5f));
            int hi = Math.min(15, (int) (x[off + 16 + j] * id + 8.5f));
            dst.put((byte) (lo | (hi << 4)));
        }
    }

    /** C's roundf: halves go away from zero (Math.round would send -2.5 to -2). */
    private static int roundHalfAway(float v) {
        int r = Math.round(Math.abs(v));
        return v < 0 ? -r : r;
    }
}
