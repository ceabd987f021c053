package dev.tandem.conformance;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

/** Random weight matrices in every format, written byte by byte in the GGUF layouts. */
public final class RandomWeights {
    private RandomWeights() {}

    public static WeightMatrix create(Arena arena, WeightFormat format, int rows, int cols, Random random) {
        return create(arena, format, rows, cols, random, 1f);
    }

    /**
     * As {@link #create(Arena, WeightFormat, int, int, Random)} with every value multiplied by {@code gain}
     * (the float values, or the block scales of the quantized formats); the random stream read is the same.
     */
    public static WeightMatrix create(Arena arena, WeightFormat format, int rows, int cols, Random random, float gain) {
        long bytes = format.bytesFor((long) rows * cols);
        MemorySegment data = arena.allocate(bytes, 1);
        long blocks = (long) rows * cols / format.blockSize();
        for (long b = 0; b < blocks; b++) {
            long at = b * format.blockBytes();
            switch (format) {
                case F32 -> data.set(ValueLayout.JAVA_FLOAT_UNALIGNED, at, gain * (float) random.nextGaussian());
                case F16 -> data.set(ValueLayout.JAVA_SHORT_UNALIGNED, at, Float.floatToFloat16(gain * (float) random.nextGaussian()));
                case BF16 -> data.set(ValueLayout.JAVA_SHORT_UNALIGNED, at,
                        (short) (Float.floatToRawIntBits(gain * (float) random.nextGaussian()) >>> 16));
                case Q8_0 -> {
                    data.set(ValueLayout.JAVA_SHORT_UNALIGNED, at, Float.floatToFloat16(gain * (0.001f + random.nextFloat() * 0.02f)));
                    for (int i = 0; i < 32; i++) {
                        data.set(ValueLayout.JAVA_BYTE, at + 2 + i, (byte) (random.nextInt(255) - 127));
                    }
                }
                case Q4_0 -> {
                    data.set(ValueLayout.JAVA_SHORT_UNALIGNED, at, Float.floatToFloat16(gain * (0.01f + random.nextFloat() * 0.2f)));
                    for (int i = 0; i < 16; i++) {
                        data.set(ValueLayout.JAVA_BYTE, at + 2 + i, (byte) random.nextInt(256));
                    }
                }
                case Q2_K, Q3_K, Q4_K, Q5_K, Q6_K -> kQuantBlock(data, at, format, random, gain);
            }
        }
        return WeightMatrix.of(format, data, rows, cols);
    }

    /** Random bytes (every pattern is a valid K-quant block) with finite f16 super-scales where the format keeps them. */
    private static void kQuantBlock(MemorySegment data, long at, WeightFormat format, Random random, float gain) {
        for (int i = 0; i < format.blockBytes(); i++) {
            data.set(ValueLayout.JAVA_BYTE, at + i, (byte) random.nextInt(256));
        }
        short d = Float.floatToFloat16(gain * (0.0005f + random.nextFloat() * 0.005f));
        switch (format) {
            case Q2_K -> { data.set(ValueLayout.JAVA_SHORT_UNALIGNED, at + 80, d); data.set(ValueLayout.JAVA_SHORT_UNALIGNED, at + 82, d); }
            case Q3_K -> data.set(ValueLayout.JAVA_SHORT_UNALIGNED, at + 108, d);
            case Q4_K, Q5_K -> { data.set(ValueLayout.JAVA_SHORT_UNALIGNED, at, d); data.set(ValueLayout.JAVA_SHORT_UNALIGNED, at + 2, d); }
            case Q6_K -> data.set(ValueLayout.JAVA_SHORT_UNALIGNED, at + 208, d);
            default -> throw new IllegalArgumentException(format + " is not a K-quant");
        }
    }

    public static float[] floats(int n, Random random) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return v;
    }
}
