package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every kernel's cold-start twin against its vector form, bit for bit (raw bits, so -0 and +0 and
 * NaN payloads count), on odd sizes and tails. The surefire executions run this class at the
 * machine's preferred width and at 256 and 128 bits (each a JVM of its own, as the species are
 * static finals), so the twins' lane emulation is checked at each width. The gates are set by hand
 * here: the module's test JVMs otherwise start with the twins off (tandem.coldWork=0), so the other
 * kernel tests keep testing the vector forms.
 */
class ColdTwinsTest {
    private static final int[] SIZES = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 100, 127, 129, 255, 257, 768, 1001};

    @AfterEach
    void vectorFormsAgain() {
        ColdStart.resetAll(0);
    }

    private static void assertSameBits(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) {
            int w = Float.floatToRawIntBits(want[i]), g = Float.floatToRawIntBits(got[i]);
            if (w != g) {
                assertEquals(want[i] + " (" + Integer.toHexString(w) + ")", got[i] + " (" + Integer.toHexString(g) + ")",
                        what + ": vector form vs twin at " + i);
            }
        }
    }

    /**
     * Runs op on a copy of buffer with the vector forms, then on another copy with the twins (checking
     * that gate counted a twin call; null where the kernel has no twin), and compares the two bit for bit.
     */
    private static void sameBits(float[] buffer, ColdStart.Gate gate, Consumer<float[]> op, String what) {
        float[] vector = buffer.clone();
        ColdStart.resetAll(0);
        op.accept(vector);
        float[] twin = buffer.clone();
        ColdStart.resetAll(Integer.MAX_VALUE);
        op.accept(twin);
        assertTrue(gate == null || gate.calls() > 0, what + ": the twin did not run (" + gate + ")");
        ColdStart.resetAll(0);
        assertSameBits(vector, twin, what);
    }

    /** Gaussian values over a wide range of magnitudes, so that any change of summation order or fusion shows. */
    private static float[] values(Random rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rnd.nextGaussian() * Math.pow(2, rnd.nextInt(17) - 8));
        }
        return x;
    }

    @Test
    void gateCountsWorkThenOpensForGood() {
        ColdStart.Gate gate = new ColdStart.Gate("test", 2);
        assertTrue(gate.cold(1));
        assertTrue(gate.cold(1));
        assertFalse(gate.cold(1));
        assertFalse(gate.cold(1));
        assertEquals(2, gate.calls());
        assertFalse(new ColdStart.Gate("off", 0).cold(1), "tandem.coldWork=0 turns the twins off");
    }

    @Test
    void dotAndSumMatchTheVectorLanes() {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        boolean orderShows = false;
        for (int n : SIZES) {
            for (int trial = 0; trial < 20; trial++) {
                float[] a = values(rnd, n + 3), b = values(rnd, n + 5);
                float vector = Vec.dot(a, 3, b, 1, n);
                float twin = ColdTwins.dot(a, 3, b, 1, n);
                assertEquals(Float.floatToRawIntBits(vector), Float.floatToRawIntBits(twin),
                        "dot n=" + n + " seed " + seed + ": " + vector + " vs " + twin);
                float sequential = 0f;
                for (int j = 0; j < n; j++) {
                    sequential += a[3 + j] * b[1 + j];
                }
                orderShows |= sequential != vector;
            }
        }
        // The data can tell orders apart: a plain sequential sum (the obvious wrong twin) differs somewhere.
        assertTrue(orderShows, "seed " + seed);
    }

    @Test
    void rmsnormSoftmaxSiluAdd() {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        for (int n : SIZES) {
            String at = " n=" + n + " seed " + seed;
            float[] x = values(rnd, n + 2), w = values(rnd, n), up = values(rnd, n + 1);
            sameBits(new float[n + 1], ColdStart.OPS, out -> Ops.rmsnorm(out, 1, x, 2, w, n, 1e-5f), "rmsnorm" + at);
            sameBits(x, ColdStart.OPS, v -> Ops.rmsnorm(v, 2, v, 2, w, n, 1e-6f), "rmsnorm in place" + at);
            sameBits(x, ColdStart.OPS, v -> Ops.softmax(v, 1, n), "softmax" + at);
            float[] gate = values(rnd, n + 1);
            gate[0] = 100f; // e^-100 underflows to 0; e^+100 overflows: Exp's two clamps
            gate[n - 1] = n > 1 ? -100f : gate[n - 1];
            sameBits(gate, ColdStart.OPS, g -> Ops.siluMul(g, 0, up, 1, n), "siluMul" + at);
            sameBits(x, ColdStart.OPS, v -> Ops.addInPlace(v, 1, up, 0, n), "addInPlace" + at);
        }
    }

    static Stream<Arguments> attentionShapes() {
        Stream.Builder<Arguments> s = Stream.builder();
        for (int headDim : new int[] {1, 3, 7, 8, 16, 33, 64, 100}) {
            for (int nPos : new int[] {1, 2, 5, 37}) {
                s.add(Arguments.of(4, 2, headDim, nPos));
            }
        }
        s.add(Arguments.of(12, 12, 64, 9));
        s.add(Arguments.of(6, 1, 17, 3));
        return s.build();
    }

    @ParameterizedTest(name = "heads {0}/{1} headDim {2} nPos {3}")
    @MethodSource("attentionShapes")
    void attention(int nHeads, int nKvHeads, int headDim, int nPos) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        String at = " seed " + seed;
        int dim = nHeads * headDim, kvDim = nKvHeads * headDim;
        float[] q = values(rnd, 2 + dim);
        float[] keys = values(rnd, 3 + nPos * kvDim), vals = values(rnd, 3 + nPos * kvDim);
        sameBits(new float[1 + dim], ColdStart.OPS,
                out -> Ops.attention(out, 1, q, 2, keys, vals, 3, nPos, nHeads, nKvHeads, headDim), "attention" + at);

        int startPos = nPos / 2, batch = nPos - startPos;
        float[] qb = values(rnd, batch * dim);
        sameBits(new float[batch * dim], ColdStart.OPS,
                out -> Ops.attentionPrefill(out, qb, keys, vals, 3, startPos, batch, nHeads, nKvHeads, headDim),
                "attentionPrefill" + at);

        // Two sequences in a paged cache of 2-position blocks, the second's blocks in reverse order.
        int blockSize = 2, blocks = (nPos + 1) / 2;
        float[] pagedK = values(rnd, 2 * blocks * blockSize * kvDim), pagedV = values(rnd, pagedK.length);
        int[][] tables = new int[2][blocks];
        for (int i = 0; i < blocks; i++) {
            tables[0][i] = 2 * i;
            tables[1][i] = 2 * blocks - 1 - 2 * i;
        }
        int[] positions = {nPos - 1, Math.max(0, nPos - 2)};
        float[] q2 = values(rnd, 2 * dim);
        sameBits(new float[2 * dim], ColdStart.OPS,
                out -> Ops.attentionPaged(out, q2, pagedK, pagedV, positions, tables, blockSize, nHeads, nKvHeads, headDim),
                "attentionPaged" + at);
    }

    static Stream<Arguments> matrices() {
        Stream.Builder<Arguments> s = Stream.builder();
        for (WeightFormat f : WeightFormat.values()) {
            int[] cols = f.isKQuant() ? new int[] {256, 768}
                    : f.blockSize() > 1 ? new int[] {32, 96, 800}
                    : new int[] {1, 3, 7, 17, 33, 101, 1001};
            for (int c : cols) {
                s.add(Arguments.of(f, c));
            }
        }
        return s.build();
    }

    /** Formats whose matvec has a twin in this JVM (the others keep their vector form; their results are compared all the same). */
    private static boolean hasTwin(WeightMatrix m) {
        return switch (m.format()) {
            case Q8_0, Q4_0 -> KernelConfig.integerDot() && IntDot.VECTOR;
            default -> true; // F32, F16, BF16 and the K-quants
        };
    }

    @ParameterizedTest(name = "{0} cols {1}")
    @MethodSource("matrices")
    void matvecMatmulAndRows(WeightFormat format, int cols) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        String at = " " + format + " cols " + cols + " seed " + seed;
        int rows = 37;
        WeightMatrix m = Encoded.random(format, rows, cols, rnd).matrix();
        float[] x = values(rnd, 1 + cols);
        ColdStart.Gate matvecGate = hasTwin(m) ? ColdStart.MATVECS : null;
        sameBits(new float[2 + rows], matvecGate, out -> m.matvec(x, 1, out, 2), "matvec" + at);

        boolean matmulTwin = hasTwin(m) && !(m instanceof F32Matrix || m instanceof F16Matrix || m instanceof BF16Matrix);
        int batch = 3;
        float[] xs = values(rnd, batch * cols);
        ColdStart.Gate matmulGate = matmulTwin ? ColdStart.MATMULS : null;
        sameBits(new float[batch * rows], matmulGate, out -> m.matmul(xs, out, batch), "matmul" + at);

        for (int r : new int[] {0, rows - 1}) {
            ColdStart.Gate rowGate = switch (format) {
                case Q8_0, Q4_0, F16, BF16 -> ColdStart.ROWS;
                default -> null; // scalar (K-quants) or a copy (F32) in both forms
            };
            sameBits(new float[1 + cols], rowGate, dst -> m.dequantizeRow(r, dst, 1), "dequantizeRow " + r + at);
        }
    }
}
