package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Differential tests of every weight format: vector dot against the scalar dot, both against a
 * double-precision reference decoded from the raw bytes by the test, plus matvec/matmul against dot.
 */
class WeightMatrixTest {
    /** fp32 accumulation error allowed, relative to sum |w*x| (fp32 over 4k terms is well inside). */
    private static final double TOL = 1e-5;

    static Stream<Arguments> shapes() {
        Stream.Builder<Arguments> s = Stream.builder();
        for (WeightFormat f : WeightFormat.values()) {
            int[] colsList = f.blockSize() == 1 ? new int[] {1, 7, 33, 1001}
                    : f.isKQuant() ? new int[] {256, 768, 4352} : new int[] {32, 96, 4128};
            for (int rows : new int[] {1, 3, 17, 255}) {
                for (int cols : colsList) {
                    if ((long) rows * cols <= 300_000) {
                        s.add(Arguments.of(f, rows, cols));
                    }
                }
            }
        }
        return s.build();
    }

    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("shapes")
    void dotMatchesScalarAndDoubleReference(WeightFormat format, int rows, int cols) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        Encoded e = Encoded.random(format, rows, cols, rnd);
        WeightMatrix m = e.matrix();
        int xOff = rnd.nextInt(5);
        float[] x = Encoded.gaussian(rnd, xOff + cols + 3);
        float[] mv = new float[rows + 2];
        m.matvec(x, xOff, mv, 2);
        // Under the integer-dot path (Q8_0/Q4_0, tandem.quantDot=int8) dot multiplies the activations as
        // 8-bit blocks: the double reference then uses the same blocks, quantized here independently.
        boolean quantized = KernelConfig.integerDot() && (format == WeightFormat.Q8_0 || format == WeightFormat.Q4_0);
        double[] xq = quantized ? quantizedActivations(x, xOff, cols) : null;
        for (int r = 0; r < rows; r++) {
            double[] w = e.row(r);
            double ref = 0;
            double mag = 0;
            double refFloat = 0;
            double magFloat = 0;
            double activationError = 0;
            for (int j = 0; j < cols; j++) {
                double xj = quantized ? xq[j] : x[xOff + j];
                ref += w[j] * xj;
                mag += Math.abs(w[j] * xj);
                refFloat += w[j] * x[xOff + j];
                magFloat += Math.abs(w[j] * x[xOff + j]);
                if (format.isKQuant()) {
                    activationError += Math.abs(w[j]) * q8kStep(x, xOff + j / 256 * 256) / 2;
                }
            }
            assertTrue(mag > 0, "degenerate test data, seed " + seed);
            String where = format + " " + rows + "x" + cols + " row " + r + " seed " + seed;
            float vec = m.dot(r, x, xOff);
            float sca = m.dotScalar(r, x, xOff);
            // K-quants round each activation to its block's 8-bit grid (step amax/127) before the
            // integer dot: each product may move by |w| times half a step, on top of fp32 rounding.
            double tol = TOL * mag + activationError;
            assertEquals(ref, vec, tol, "dot vs double reference, " + where);
            assertEquals(ref, sca, tol, "dotScalar vs double reference, " + where);
            if (format.isKQuant()) {
                assertEquals(Float.floatToRawIntBits(sca), Float.floatToRawIntBits(vec), "dot vs dotScalar bits, " + where);
            }
            assertEquals(sca, vec, TOL * mag, "dot vs dotScalar, " + where);
            assertEquals(vec, mv[2 + r], TOL * mag, "matvec vs dot, " + where);
            // The fp32-activation reference (what OpenCL computes) stays exact to fp32 accumulation.
            assertEquals(refFloat, m.dotScalarFloat(r, x, xOff), TOL * magFloat, "dotScalarFloat vs double reference, " + where);
            if (m instanceof Q8_0Matrix q8) {
                assertEquals(refFloat, q8.dotFloat(r, x, xOff), TOL * magFloat, "dotFloat vs double reference, " + where);
            } else if (m instanceof Q4_0Matrix q4) {
                assertEquals(refFloat, q4.dotFloat(r, x, xOff), TOL * magFloat, "dotFloat vs double reference, " + where);
            }
        }
    }

    /** The Q8_K quantization step of the 256 activations from x[from]: their largest magnitude / 127. */
    private static double q8kStep(float[] x, int from) {
        double amax = 0;
        for (int i = from; i < from + 256; i++) amax = Math.max(amax, Math.abs(x[i]));
        return amax / 127 * (1 + 1e-6);
    }

    /**
     * x[xOff..xOff+cols) as Q8 activation blocks would represent it, written independently of
     * Q8Activations: d = max|x|/127 in fp32, q = x*(1/d) rounded half to even, value q*d in double.
     */
    static double[] quantizedActivations(float[] x, int xOff, int cols) {
        double[] v = new double[cols];
        for (int b = 0; b < cols; b += 32) {
            float amax = 0;
            for (int k = 0; k < 32; k++) amax = Math.max(amax, Math.abs(x[xOff + b + k]));
            float d = amax / 127f;
            float id = d == 0 ? 0 : 1f / d;
            for (int k = 0; k < 32; k++) {
                double q = Math.rint(x[xOff + b + k] * id);
                assertTrue(Math.abs(q) <= 127, "quantized value out of range: " + q);
                v[b + k] = q * (double) d;
            }
        }
        return v;
    }

    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("shapes")
    void dequantizeRowIsExact(WeightFormat format, int rows, int cols) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        Encoded e = Encoded.random(format, rows, cols, rnd);
        WeightMatrix m = e.matrix();
        float[] dst = new float[cols + 3];
        for (int r = 0; r < rows; r += Math.max(1, rows / 5)) {
            m.dequantizeRow(r, dst, 3);
            double[] ref = e.row(r);
            for (int j = 0; j < cols; j++) {
                assertEquals(Float.floatToRawIntBits((float) ref[j]), Float.floatToRawIntBits(dst[3 + j]),
                        () -> format + " row element mismatch, seed " + seed);
            }
        }
    }

    static Stream<Arguments> matmulShapes() {
        Stream.Builder<Arguments> s = Stream.builder();
        for (WeightFormat f : WeightFormat.values()) {
            int[] colsList = f.blockSize() == 1 ? new int[] {7, 33, 1001}
                    : f.isKQuant() ? new int[] {256, 512} : new int[] {32, 96};
            for (int cols : colsList) {
                for (int rows : new int[] {1, 3, 17}) {
                    // 40: past two token tiles of the token-tiled matmuls (TokenGemm, KQuantGemm), ragged end;
                    // MIN_BATCH + 5: past IntGemm's threshold, ragged end.
                    for (int batch : new int[] {1, 4, 5, 11, 40, IntGemm.MIN_BATCH + 5}) {
                        s.add(Arguments.of(f, rows, cols, batch));
                    }
                }
            }
            // 67 and 131 tokens: TokenGemm's panels in element order below 4 token tiles and in chain
            // order from there (at 512 bits 3 and 5 tiles, at 256 bits 5 and 9); ragged rows (a
            // zero-padded row group), columns with a tail and a ragged last tile.
            s.add(Arguments.of(f, 17, colsList[colsList.length - 1], 67));
            s.add(Arguments.of(f, 17, colsList[colsList.length - 1], 131));
            // Wide rows: more than one L2 batch tile, and odd rows split over the pool.
            int wide = f.blockSize() == 1 ? 4127 : f.isKQuant() ? 4352 : 4128;
            s.add(Arguments.of(f, 19, wide, 70));
        }
        return s.build();
    }

    @ParameterizedTest(name = "{0} {1}x{2} batch {3}")
    @MethodSource("matmulShapes")
    void matmulMatchesPerRowDot(WeightFormat format, int rows, int cols, int batch) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        Encoded e = Encoded.random(format, rows, cols, rnd);
        WeightMatrix m = e.matrix();
        float[] x = Encoded.gaussian(rnd, batch * cols);
        float[] out = new float[batch * rows];
        m.matmul(x, out, batch);
        // Batch invariance: each activation row gets exactly the bits a matvec gives it alone.
        assertEachTokenIsItsMatvec(m, x, out, batch, format + " " + rows + "x" + cols + " batch " + batch, seed);
        for (int r = 0; r < rows; r++) {
            double[] w = e.row(r);
            for (int b = 0; b < batch; b++) {
                double mag = 0;
                for (int j = 0; j < cols; j++) mag += Math.abs(w[j] * x[b * cols + j]);
                assertEquals(m.dot(r, x, b * cols), out[b * rows + r], TOL * mag,
                        format + " " + rows + "x" + cols + " batch " + batch + " at b=" + b + " r=" + r + " seed " + seed);
            }
        }
    }

    /**
     * The batched kernels keep per-thread scratch across calls (BatchScratch), grown to the widest matrix
     * a thread has seen: a narrower matrix after a wider one must lay out its panels by its own width.
     * Both token-tile paths of TokenGemm (panels in element order, and in chain order from 4 tiles).
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = WeightFormat.class, names = {"F16", "BF16"})
    void narrowMatmulAfterAWideOneMatchesItsMatvec(WeightFormat format) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        for (int[] shape : new int[][] {{17, 1001, 131}, {3, 33, 40}, {5, 7, 131}, {17, 1001, 40}, {9, 65, 131}}) {
            int rows = shape[0], cols = shape[1], batch = shape[2];
            WeightMatrix m = Encoded.random(format, rows, cols, rnd).matrix();
            float[] x = Encoded.gaussian(rnd, batch * cols);
            float[] out = new float[batch * rows];
            m.matmul(x, out, batch);
            assertEachTokenIsItsMatvec(m, x, out, batch, format + " " + rows + "x" + cols + " batch " + batch, seed);
        }
    }

    /** Every token's row of out (the matmul of x) holds exactly the bits m's matvec gives that token alone. */
    private static void assertEachTokenIsItsMatvec(WeightMatrix m, float[] x, float[] out, int batch, String what, long seed) {
        int rows = m.rows(), cols = m.cols();
        float[] single = new float[rows];
        for (int b = 0; b < batch; b++) {
            m.matvec(Arrays.copyOfRange(x, b * cols, (b + 1) * cols), 0, single, 0);
            assertArrayEquals(single, Arrays.copyOfRange(out, b * rows, (b + 1) * rows),
                    what + ": token " + b + " of the matmul differs from its matvec, seed " + seed);
        }
    }

    @Test
    void f16SpecialValuesAreExact() {
        // +-0, smallest/largest subnormals, smallest normal, max half, one, and their negatives.
        short[] special = {0x0000, (short) 0x8000, 0x0001, (short) 0x8001, 0x03FF, (short) 0x83FF, 0x0200,
                0x0400, (short) 0x8400, 0x7BFF, (short) 0xFBFF, 0x3C00, (short) 0xBC00, 0x3555, 0x0155};
        int cols = 67; // odd, so some land in the vector body and some in the scalar tail
        short[] halves = new short[2 * cols];
        for (int i = 0; i < halves.length; i++) {
            halves[i] = special[i % special.length];
        }
        Encoded e = Encoded.halves(halves, 2, cols);
        WeightMatrix m = e.matrix();
        float[] dst = new float[cols];
        float[] x = new float[cols];
        java.util.Arrays.fill(x, 1f);
        for (int r = 0; r < 2; r++) {
            m.dequantizeRow(r, dst, 0);
            double[] ref = e.row(r);
            double sum = 0;
            for (int j = 0; j < cols; j++) {
                assertEquals(Float.floatToRawIntBits((float) ref[j]), Float.floatToRawIntBits(dst[j]),
                        "half " + Integer.toHexString(halves[r * cols + j] & 0xFFFF));
                sum += ref[j];
            }
            assertEquals(sum, m.dot(r, x, 0), 1e-6 * 65504 * cols);
            assertEquals(m.dotScalar(r, x, 0), m.dot(r, x, 0), 1e-6 * 65504 * cols);
        }
    }

    @Test
    void everyHalfBitPatternWidensLikeFloat16ToFloat() {
        short[] all = new short[1 << 16];
        for (int i = 0; i < all.length; i++) {
            all[i] = (short) i;
        }
        WeightMatrix m = Encoded.halves(all, 1, all.length).matrix();
        float[] dst = new float[all.length];
        m.dequantizeRow(0, dst, 0);
        for (int i = 0; i < all.length; i++) {
            float want = Float.float16ToFloat(all[i]);
            if (Float.isNaN(want)) {
                // NaN payloads/quiet bits differ between float16ToFloat's Java code and its intrinsic.
                assertTrue(Float.isNaN(dst[i]), "half 0x" + Integer.toHexString(i) + " should be NaN");
                continue;
            }
            assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(dst[i]),
                    "half 0x" + Integer.toHexString(i));
        }
    }

    @ParameterizedTest
    @EnumSource(WeightFormat.class)
    void ofRejectsBadShapes(WeightFormat f) {
        MemorySegment big = MemorySegment.ofArray(new byte[1 << 16]);
        int cols = f.blockSize() == 1 ? 8 : f.isKQuant() ? 256 : 64;
        assertMessage(assertThrows(IllegalArgumentException.class, () -> WeightMatrix.of(f, big, 0, cols)), "rows");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> WeightMatrix.of(f, big, -1, cols)), "rows");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> WeightMatrix.of(f, big, 2, 0)), "cols");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> WeightMatrix.of(f, big, 2, -32)), "cols");
        if (f.blockSize() > 1) {
            assertMessage(assertThrows(IllegalArgumentException.class, () -> WeightMatrix.of(f, big, 2, 33)), "multiple");
        }
        long need = f.bytesFor(3L * cols);
        MemorySegment small = MemorySegment.ofArray(new byte[(int) need - 1]);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> WeightMatrix.of(f, small, 3, cols)), "bytes");
        WeightMatrix ok = WeightMatrix.of(f, MemorySegment.ofArray(new byte[(int) need]), 3, cols);
        assertEquals(f, ok.format());
        assertEquals(need, ok.byteSize());
        assertThrows(IndexOutOfBoundsException.class, () -> ok.dot(3, new float[cols], 0));
    }

    private static void assertMessage(IllegalArgumentException e, String word) {
        assertTrue(e.getMessage().contains(word), "message should mention " + word + ": " + e.getMessage());
    }
}
