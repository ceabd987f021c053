package dev.tandem.kernels;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

/**
 * Test-side encoder and independent decoder of the GGUF layouts: writes the bytes of every block
 * itself from random floats, and decodes them back in double precision without touching kernel code
 * (halves are decoded here by hand, not with Float.float16ToFloat).
 */
final class Encoded {
    final WeightFormat format;
    final int rows;
    final int cols;
    final byte[] bytes;
    /** Offset of the matrix inside bytes: non-zero to make the segment unaligned. */
    final int shift;

    private Encoded(WeightFormat format, int rows, int cols, byte[] bytes, int shift) {
        this.format = format;
        this.rows = rows;
        this.cols = cols;
        this.bytes = bytes;
        this.shift = shift;
    }

    /** Random weights of roughly unit scale (with some blocks much larger or smaller), never all zero. */
    static Encoded random(WeightFormat format, int rows, int cols, Random rnd) {
        int shift = rnd.nextInt(4);
        int size = Math.toIntExact(format.bytesFor((long) rows * cols));
        ByteBuffer buf = ByteBuffer.allocate(size + shift).order(ByteOrder.LITTLE_ENDIAN);
        buf.position(shift);
        int blocks = rows * cols / format.blockSize();
        float[] block = new float[format.blockSize()];
        for (int b = 0; b < blocks; b++) {
            float magnitude = (float) Math.pow(2, rnd.nextInt(9) - 4);
            if (format.isKQuant()) {
                randomKQuantBlock(format, magnitude, buf, rnd);
                continue;
            }
            for (int i = 0; i < block.length; i++) {
                block[i] = (float) rnd.nextGaussian() * magnitude;
            }
            encodeBlock(format, block, buf);
        }
        return new Encoded(format, rows, cols, buf.array(), shift);
    }

    /** F16 matrix made of the given raw half bit patterns, rows x cols. */
    static Encoded halves(short[] halves, int rows, int cols) {
        ByteBuffer buf = ByteBuffer.allocate(2 * halves.length + 1).order(ByteOrder.LITTLE_ENDIAN);
        buf.position(1);
        for (short h : halves) {
            buf.putShort(h);
        }
        return new Encoded(WeightFormat.F16, rows, cols, buf.array(), 1);
    }

    /**
     * Any bit pattern is a valid K-quant block except its f16 scales, so the block is random bytes
     * with finite super-scales chosen to give weights of about the given magnitude.
     */
    private static void randomKQuantBlock(WeightFormat format, float magnitude, ByteBuffer buf, Random rnd) {
        int at = buf.position();
        byte[] block = new byte[format.blockBytes()];
        rnd.nextBytes(block);
        buf.put(block);
        short d = Float.floatToFloat16(magnitude * (0.5f + rnd.nextFloat()) / 256f);
        short dmin = Float.floatToFloat16(magnitude * (0.5f + rnd.nextFloat()) / 64f);
        switch (format) {
            case Q2_K -> { buf.putShort(at + 80, Float.floatToFloat16(magnitude / 16f)); buf.putShort(at + 82, dmin); }
            case Q3_K -> buf.putShort(at + 108, Float.floatToFloat16(magnitude / 64f));
            case Q4_K, Q5_K -> { buf.putShort(at, d); buf.putShort(at + 2, dmin); }
            case Q6_K -> buf.putShort(at + 208, Float.floatToFloat16(magnitude / 1024f));
            default -> throw new AssertionError(format);
        }
    }

    private static void encodeBlock(WeightFormat format, float[] v, ByteBuffer buf) {
        switch (format) {
            case F32 -> buf.putFloat(v[0]);
            case F16 -> buf.putShort(Float.floatToFloat16(v[0]));
            case BF16 -> buf.putShort((short) (Float.floatToRawIntBits(v[0]) >>> 16));
            case Q8_0 -> {
                float amax = 0f;
                for (float f : v) amax = Math.max(amax, Math.abs(f));
                short d16 = Float.floatToFloat16(amax / 127f);
                double d = half(d16);
                buf.putShort(d16);
                for (float f : v) buf.put((byte) Math.clamp(Math.round(f / d), -128, 127));
            }
            case Q4_0 -> {
                float amax = 0f;
                for (float f : v) amax = Math.max(amax, Math.abs(f));
                short d16 = Float.floatToFloat16(amax / 7f);
                double d = half(d16);
                buf.putShort(d16);
                int[] n = new int[32];
                for (int i = 0; i < 32; i++) n[i] = (int) Math.clamp(Math.round(v[i] / d) + 8, 0, 15);
                for (int i = 0; i < 16; i++) buf.put((byte) (n[i] | (n[i + 16] << 4)));
            }
        }
    }

    MemorySegment segment() {
        return MemorySegment.ofArray(bytes).asSlice(shift);
    }

    WeightMatrix matrix() {
        return WeightMatrix.of(format, segment(), rows, cols);
    }

    /** W[row, j] decoded here from the raw bytes, in double. */
    double[] row(int row) {
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        double[] out = new double[cols];
        int rowBytes = Math.toIntExact(format.bytesFor(cols));
        int base = shift + row * rowBytes;
        switch (format) {
            case F32 -> { for (int j = 0; j < cols; j++) out[j] = buf.getFloat(base + 4 * j); }
            case F16 -> { for (int j = 0; j < cols; j++) out[j] = half(buf.getShort(base + 2 * j)); }
            case BF16 -> {
                for (int j = 0; j < cols; j++) out[j] = Float.intBitsToFloat((buf.getShort(base + 2 * j) & 0xFFFF) << 16);
            }
            case Q8_0 -> {
                for (int b = 0; b < cols / 32; b++) {
                    int o = base + 34 * b;
                    double d = half(buf.getShort(o));
                    for (int k = 0; k < 32; k++) out[32 * b + k] = buf.get(o + 2 + k) * d;
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < cols / 32; b++) {
                    int o = base + 18 * b;
                    double d = half(buf.getShort(o));
                    for (int k = 0; k < 16; k++) {
                        int q = buf.get(o + 2 + k) & 0xFF;
                        out[32 * b + k] = ((q & 15) - 8) * d;
                        out[32 * b + 16 + k] = ((q >> 4) - 8) * d;
                    }
                }
            }
            default -> {
                for (int b = 0; b < cols / 256; b++) {
                    kQuantBlock(buf, base + b * format.blockBytes(), out, 256 * b);
                }
            }
        }
        return out;
    }

    private static int u8(ByteBuffer buf, int at) {
        return buf.get(at) & 0xFF;
    }

    /** One K-quant super-block decoded element by element, following the layouts in gguf-py's quants.py. */
    private void kQuantBlock(ByteBuffer buf, int o, double[] out, int outOff) {
        for (int e = 0; e < 256; e++) {
            int half = e / 128, r = e % 128, s = e / 16, j = e / 32;
            double v;
            switch (format) {
                case Q2_K -> {
                    int q = (u8(buf, o + 16 + 32 * half + r % 32) >> (2 * (r / 32))) & 3;
                    int sc = u8(buf, o + s);
                    v = half(buf.getShort(o + 80)) * (sc & 15) * q - half(buf.getShort(o + 82)) * (sc >> 4);
                }
                case Q3_K -> {
                    int low = (u8(buf, o + 32 + 32 * half + r % 32) >> (2 * (r / 32))) & 3;
                    int hbit = (u8(buf, o + e % 32) >> (e / 32)) & 1;
                    int sc = ((u8(buf, o + 96 + s % 8) >> (4 * (s / 8))) & 15) | (((u8(buf, o + 104 + s % 4) >> (2 * (s / 4))) & 3) << 4);
                    v = half(buf.getShort(o + 108)) * (sc - 32) * (low - (hbit == 1 ? 0 : 4));
                }
                case Q4_K, Q5_K -> {
                    int qs = format == WeightFormat.Q4_K ? 16 : 48;
                    int q = (u8(buf, o + qs + 32 * (e / 64) + e % 32) >> (4 * (j % 2))) & 15;
                    if (format == WeightFormat.Q5_K) q |= ((u8(buf, o + 16 + e % 32) >> j) & 1) << 4;
                    int p = o + 4;
                    int sc = j < 4 ? u8(buf, p + j) & 63 : (u8(buf, p + j + 4) & 15) | ((u8(buf, p + j - 4) >> 6) << 4);
                    int mn = j < 4 ? u8(buf, p + j + 4) & 63 : (u8(buf, p + j + 4) >> 4) | ((u8(buf, p + j) >> 6) << 4);
                    v = half(buf.getShort(o)) * sc * q - half(buf.getShort(o + 2)) * mn;
                }
                case Q6_K -> {
                    int low = (u8(buf, o + 64 * half + r % 64) >> (4 * (r / 64))) & 15;
                    int high = (u8(buf, o + 128 + 32 * half + r % 32) >> (2 * (r / 32))) & 3;
                    v = half(buf.getShort(o + 208)) * buf.get(o + 192 + s) * ((low | high << 4) - 32);
                }
                default -> throw new AssertionError(format);
            }
            out[outOff + e] = v;
        }
    }

    /** IEEE half to double by the textbook formula (finite values only). */
    static double half(short bits) {
        int h = bits & 0xFFFF;
        int sign = h >>> 15;
        int exp = (h >>> 10) & 0x1F;
        int mant = h & 0x3FF;
        if (exp == 31) {
            throw new IllegalArgumentException("inf/nan half " + Integer.toHexString(h));
        }
        double mag = exp == 0 ? Math.scalb((double) mant, -24) : Math.scalb(1024.0 + mant, exp - 25);
        return sign == 1 ? -mag : mag;
    }

    static float[] gaussian(Random rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }
}
