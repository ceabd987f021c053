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
        }
        return out;
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
