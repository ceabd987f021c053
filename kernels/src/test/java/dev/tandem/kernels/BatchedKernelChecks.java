package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;

/**
 * The checks every batched Q8_0/Q4_0 kernel that keeps IntDot's arithmetic must pass, for the tests of
 * {@link TokenVectorGemm} and {@link RowLaneGemm}: each (row, token) is dotQ8's and the scalar
 * reference's bit for bit.
 */
final class BatchedKernelChecks {
    private BatchedKernelChecks() {}

    /** A kernel's matmulEach: outs[i][t*rows + r] = dotQ8 of ws[i]'s row r and activation row t. */
    interface Kernel {
        void matmulEach(IntDot.Format[] ws, Q8Activations a, float[][] outs);
    }

    static Q8Activations activations(Random rnd, int rows, int cols) {
        float[] x = Encoded.gaussian(rnd, rows * cols);
        for (int i = 0; i < x.length; i++) {
            x[i] *= (float) Math.pow(2, rnd.nextInt(9) - 4);
        }
        if (rows * cols >= 64) {
            Arrays.fill(x, 32, 64, 0f); // an all-zero block: scale 0
        }
        return Q8Activations.quantize(x, 0, rows, cols);
    }

    private static float dotQ8(WeightMatrix m, int r, Q8Activations a, int t) {
        return m instanceof Q8_0Matrix q8 ? q8.dotQ8(r, a, t) : ((Q4_0Matrix) m).dotQ8(r, a, t);
    }

    private static float dotQ8Scalar(WeightMatrix m, int r, Q8Activations a, int t) {
        return m instanceof Q8_0Matrix q8 ? q8.dotQ8Scalar(r, a, t) : ((Q4_0Matrix) m).dotQ8Scalar(r, a, t);
    }

    private static float[] matmul(Kernel kernel, WeightMatrix m, Q8Activations a) {
        float[] out = new float[a.rows() * m.rows()];
        Arrays.fill(out, Float.NaN); // every entry must be written
        kernel.matmulEach(new IntDot.Format[] {(IntDot.Format) m}, a, new float[][] {out});
        return out;
    }

    /**
     * Batches 1 to 40 (partial, full and ragged tiles), on rowCounts[batch % length] rows and 32, 96, 160
     * or 2080 columns, at 1 and 3 threads: every value equals dotQ8Scalar and dotQ8.
     */
    static void everyBatchFrom1To40(Kernel kernel, WeightFormat format, int[] rowCounts) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int initial = Parallel.threads();
        try {
            for (int batch = 1; batch <= 40; batch++) {
                int rows = rowCounts[batch % rowCounts.length];
                int cols = new int[] {32, 96, 160, 2080}[(batch / 4) % 4];
                WeightMatrix m = Encoded.random(format, rows, cols, rnd).matrix();
                Q8Activations a = activations(rnd, batch, cols);
                for (int threads : new int[] {1, 3}) {
                    Parallel.setThreads(threads);
                    float[] out = matmul(kernel, m, a);
                    for (int t = 0; t < batch; t++) {
                        for (int r = 0; r < rows; r++) {
                            String where = format + " " + rows + "x" + cols + " batch " + batch + " threads " + threads
                                    + " row " + r + " token " + t + " seed " + seed;
                            assertEquals(Float.floatToRawIntBits(dotQ8Scalar(m, r, a, t)), Float.floatToRawIntBits(out[t * rows + r]), where);
                            assertEquals(Float.floatToRawIntBits(dotQ8(m, r, a, t)), Float.floatToRawIntBits(out[t * rows + r]), where + " (dotQ8)");
                        }
                    }
                }
            }
        } finally {
            Parallel.setThreads(initial);
        }
    }

    /**
     * Q8_0 weights at their extremes, by trial % 3 all -128, alternating -128/127, or random ones of the
     * two, with f16 scales 2^-14 to 2^15, on a segment one byte off alignment: against
     * {@link #largestLanesInput}'s activations at +-127, every lane is |4 * 128 * 127| = 65,024 or near.
     */
    static Q8_0Matrix largestLanesQ8_0(Random rnd, int rows, int cols, int trial) {
        int blocks = cols / 32;
        MemorySegment seg = Arena.ofAuto().allocate((long) rows * blocks * 34 + 1).asSlice(1);
        for (int b = 0; b < rows * blocks; b++) {
            long o = b * 34L;
            seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, o, Float.floatToFloat16((float) Math.pow(2, rnd.nextInt(30) - 14)));
            for (int k = 0; k < 32; k++) {
                int q = switch (trial % 3) {
                    case 0 -> -128;
                    case 1 -> (k & 1) == 0 ? -128 : 127;
                    default -> rnd.nextBoolean() ? -128 : 127;
                };
                seg.set(ValueLayout.JAVA_BYTE, o + 2 + k, (byte) q);
            }
        }
        return (Q8_0Matrix) WeightMatrix.of(WeightFormat.Q8_0, seg, rows, cols);
    }

    /** Activations that quantize to +-127 everywhere: all equal for trials 0-2, alternating signs after. */
    static float[] largestLanesInput(int trial, int batch, int cols) {
        float[] x = new float[batch * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = trial < 3 ? 1f : ((i & 1) == 0 ? -2.5f : 2.5f);
        }
        return x;
    }

    /**
     * Q4_0 rows of extreme nibbles (scale 1): row r's bytes all 0x00, 0xFF, 0x0F or 0xF0 for r % 5 &lt; 4
     * (weights -8/-8, 7/7, 7/-8, -8/7), random ones of those for r % 5 == 4, on a segment one byte off
     * alignment. Against activations at +-127 a lane reaches |4 * 8 * 127| = 4,064.
     */
    static Q4_0Matrix extremeNibblesQ4_0(Random rnd, int rows, int cols) {
        int blocks = cols / 32;
        MemorySegment seg = Arena.ofAuto().allocate((long) rows * blocks * 18 + 1).asSlice(1);
        int[] patterns = {0x00, 0xFF, 0x0F, 0xF0, -1};
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < blocks; b++) {
                long o = (r * blocks + b) * 18L;
                seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, o, Float.floatToFloat16(1f));
                for (int k = 0; k < 16; k++) {
                    int v = patterns[r % 5] >= 0 ? patterns[r % 5] : patterns[rnd.nextInt(4)];
                    seg.set(ValueLayout.JAVA_BYTE, o + 2 + k, (byte) v);
                }
            }
        }
        return (Q4_0Matrix) WeightMatrix.of(WeightFormat.Q4_0, seg, rows, cols);
    }

    /** {@link #largestLanesQ8_0} against {@link #largestLanesInput}, f16 scales 2^-14 to 2^15: the kernel equals the scalar reference. */
    static void holdsTheLargestLanesExactly(Kernel kernel, int rows, int batch) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int cols = 96;
        for (int trial = 0; trial < 6; trial++) {
            Q8_0Matrix m = largestLanesQ8_0(rnd, rows, cols, trial);
            Q8Activations a = Q8Activations.quantize(largestLanesInput(trial, batch, cols), 0, batch, cols);
            assertEquals(127, Math.abs(a.q(0, 1)));
            float[] out = matmul(kernel, m, a);
            for (int t = 0; t < batch; t++) {
                for (int r = 0; r < rows; r++) {
                    assertEquals(Float.floatToRawIntBits(m.dotQ8Scalar(r, a, t)), Float.floatToRawIntBits(out[t * rows + r]),
                            "trial " + trial + " token " + t + " row " + r + ", seed " + seed);
                }
            }
        }
    }

    /** A layer's Q, K, V in one call (Q8_0, Q4_0, Q8_0): each value what the matrix gives alone, bit for bit. */
    static void matmulEachEqualsSeparateMatmuls(Kernel kernel) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int cols = 160;
        for (int batch : new int[] {3, 16, 19}) {
            WeightMatrix[] ms = {
                    Encoded.random(WeightFormat.Q8_0, 67, cols, rnd).matrix(),
                    Encoded.random(WeightFormat.Q4_0, 5, cols, rnd).matrix(),
                    Encoded.random(WeightFormat.Q8_0, 16, cols, rnd).matrix()};
            IntDot.Format[] ws = new IntDot.Format[ms.length];
            float[][] outs = new float[ms.length][];
            for (int i = 0; i < ms.length; i++) {
                ws[i] = (IntDot.Format) ms[i];
                outs[i] = new float[batch * ms[i].rows()];
            }
            Q8Activations a = activations(rnd, batch, cols);
            kernel.matmulEach(ws, a, outs);
            for (int i = 0; i < ms.length; i++) {
                float[] alone = matmul(kernel, ms[i], a);
                for (int k = 0; k < alone.length; k++) {
                    assertEquals(Float.floatToRawIntBits(alone[k]), Float.floatToRawIntBits(outs[i][k]),
                            "matrix " + i + " batch " + batch + " index " + k + ", seed " + seed);
                }
            }
        }
    }
}
