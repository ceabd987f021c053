package dev.tandem.runtime.bench;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.LlamaWeights;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/**
 * Random weight matrices of any size in F16, BF16, F32, Q8_0 or Q4_0, built in memory for the device
 * benchmark: a model of Llama 3 8B's shape needs 16 GB of F16, which no test file holds and which
 * random numbers one by one would take minutes to fill. So one tile of valid random blocks (16384
 * blocks, every block's scale a finite f16 near fan-in scale) is drawn from a fixed seed and repeated over
 * the matrix. A memory-bound kernel's time depends on the bytes, not on their values; values stay
 * finite and about unit-variance so no NaN or denormal slows a host path.
 */
public final class SyntheticWeights {
    /** Blocks of random values in the tile repeated over a matrix. */
    static final int TILE_BLOCKS = 16384;

    private SyntheticWeights() {}

    /** A rows x cols matrix in format, in memory owned by arena. */
    public static WeightMatrix matrix(Arena arena, WeightFormat format, int rows, int cols, long seed) {
        long bytes = format.bytesFor((long) rows * cols);
        MemorySegment data = arena.allocate(bytes, 64);
        MemorySegment tile = tile(format, cols, seed);
        for (long at = 0; at < bytes; at += tile.byteSize()) {
            MemorySegment.copy(tile, 0, data, at, Math.min(tile.byteSize(), bytes - at));
        }
        return WeightMatrix.of(format, data, rows, cols);
    }

    /** Rows (of cols columns) that make a matrix of at least bytes in format. */
    public static int rowsFor(WeightFormat format, int cols, long bytes) {
        long rowBytes = format.bytesFor(cols);
        long rows = (bytes + rowBytes - 1) / rowBytes;
        if (rows > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(bytes + " bytes of " + format + " need more than 2^31 rows of " + cols);
        }
        return (int) rows;
    }

    /**
     * A Llama's weights with every matrix (embedding and head included) in format. A tied shape
     * gets its head as the same object as the embedding, as a tied file loads.
     */
    public static LlamaWeights llama(Arena arena, LlamaConfig c, WeightFormat format, boolean tiedOutput, long seed) {
        int layers = c.nLayers();
        WeightMatrix[] wq = new WeightMatrix[layers], wk = new WeightMatrix[layers], wv = new WeightMatrix[layers],
                wo = new WeightMatrix[layers], w1 = new WeightMatrix[layers], w2 = new WeightMatrix[layers],
                w3 = new WeightMatrix[layers];
        float[][] attnNorm = new float[layers][], ffnNorm = new float[layers][];
        for (int l = 0; l < layers; l++) {
            long s = seed + 16L * l;
            attnNorm[l] = ones(c.dim());
            ffnNorm[l] = ones(c.dim());
            wq[l] = matrix(arena, format, c.qDim(), c.dim(), s + 1);
            wk[l] = matrix(arena, format, c.kvDim(), c.dim(), s + 2);
            wv[l] = matrix(arena, format, c.kvDim(), c.dim(), s + 3);
            wo[l] = matrix(arena, format, c.dim(), c.qDim(), s + 4);
            w1[l] = matrix(arena, format, c.hiddenDim(), c.dim(), s + 5);
            w2[l] = matrix(arena, format, c.dim(), c.hiddenDim(), s + 6);
            w3[l] = matrix(arena, format, c.hiddenDim(), c.dim(), s + 7);
        }
        WeightMatrix embedding = matrix(arena, format, c.vocabSize(), c.dim(), seed - 1);
        WeightMatrix output = tiedOutput ? embedding : matrix(arena, format, c.vocabSize(), c.dim(), seed - 2);
        return new LlamaWeights(embedding, attnNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3, ones(c.dim()), output);
    }

    private static float[] ones(int n) {
        float[] w = new float[n];
        java.util.Arrays.fill(w, 1f);
        return w;
    }

    /** TILE_BLOCKS valid random blocks of format; values uniform with the variance fan-in scaling gives. */
    private static MemorySegment tile(WeightFormat format, int cols, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float scale = (float) Math.sqrt(3.0 / cols);
        int block = format.blockSize();
        long blockBytes = format.bytesFor(block);
        MemorySegment t = Arena.ofAuto().allocate(blockBytes * TILE_BLOCKS, 64);
        for (long b = 0; b < TILE_BLOCKS; b++) {
            long at = b * blockBytes;
            switch (format) {
                case F32 -> t.set(ValueLayout.JAVA_FLOAT_UNALIGNED, at, uniform(random, scale));
                case F16 -> t.set(ValueLayout.JAVA_SHORT_UNALIGNED, at, Float.floatToFloat16(uniform(random, scale)));
                case BF16 -> t.set(ValueLayout.JAVA_SHORT_UNALIGNED, at,
                        (short) (Float.floatToRawIntBits(uniform(random, scale)) >>> 16));
                case Q8_0 -> {
                    t.set(ValueLayout.JAVA_SHORT_UNALIGNED, at, Float.floatToFloat16(scale / 127));
                    for (int i = 0; i < block; i++) {
                        t.set(ValueLayout.JAVA_BYTE, at + 2 + i, (byte) (random.nextInt(255) - 127));
                    }
                }
                case Q4_0 -> {
                    t.set(ValueLayout.JAVA_SHORT_UNALIGNED, at, Float.floatToFloat16(scale / 8));
                    for (int i = 0; i < block / 2; i++) {
                        t.set(ValueLayout.JAVA_BYTE, at + 2 + i, (byte) random.nextInt(256));
                    }
                }
                default -> throw new IllegalArgumentException("the device benchmark builds F32, F16, BF16, Q8_0 and Q4_0, not " + format);
            }
        }
        return t;
    }

    private static float uniform(SplittableRandom random, float scale) {
        return (float) ((2 * random.nextDouble() - 1) * scale);
    }
}
