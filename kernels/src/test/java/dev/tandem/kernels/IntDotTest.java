package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The integer-dot path of Q8_0 and Q4_0: the vector kernels (whatever width this JVM runs: the
 * surefire executions cover the preferred width, 256, 128 and scalar) against the scalar reference
 * bit for bit, on odd row counts and block counts; matvec and matmul against dotQ8 bit for bit at
 * several thread counts; and the activation quantizer's contract.
 */
class IntDotTest {
    static Stream<Arguments> shapes() {
        Stream.Builder<Arguments> s = Stream.builder();
        for (WeightFormat f : new WeightFormat[] {WeightFormat.Q8_0, WeightFormat.Q4_0}) {
            for (int rows : new int[] {1, 2, 3, 17, 64}) {
                for (int cols : new int[] {32, 64, 96, 160, 2080}) {
                    s.add(Arguments.of(f, rows, cols));
                }
            }
        }
        return s.build();
    }

    private static Q8Activations activations(Random rnd, int rows, int cols) {
        float[] x = Encoded.gaussian(rnd, rows * cols);
        for (int i = 0; i < x.length; i++) {
            x[i] *= (float) Math.pow(2, rnd.nextInt(9) - 4);
        }
        if (rows * cols >= 64) {
            java.util.Arrays.fill(x, 32, 64, 0f); // an all-zero block: scale 0
        }
        return Q8Activations.quantize(x, 0, rows, cols);
    }

    private static float dotQ8(WeightMatrix m, int r, Q8Activations a, int t) {
        return m instanceof Q8_0Matrix q8 ? q8.dotQ8(r, a, t) : ((Q4_0Matrix) m).dotQ8(r, a, t);
    }

    private static float dotQ8Scalar(WeightMatrix m, int r, Q8Activations a, int t) {
        return m instanceof Q8_0Matrix q8 ? q8.dotQ8Scalar(r, a, t) : ((Q4_0Matrix) m).dotQ8Scalar(r, a, t);
    }

    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("shapes")
    void vectorEqualsScalarBitForBitAndMatchesTheIntegerSum(WeightFormat format, int rows, int cols) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        Encoded e = Encoded.random(format, rows, cols, rnd);
        WeightMatrix m = e.matrix();
        Q8Activations a = activations(rnd, 3, cols);
        for (int t = 0; t < 3; t++) {
            for (int r = 0; r < rows; r++) {
                float vec = dotQ8(m, r, a, t);
                float sca = dotQ8Scalar(m, r, a, t);
                String where = format + " " + rows + "x" + cols + " row " + r + " token " + t + " seed " + seed;
                assertEquals(Float.floatToRawIntBits(sca), Float.floatToRawIntBits(vec), where + ": " + sca + " vs " + vec);
                // And both are the double-precision sum of the dequantized products to fp32 accuracy.
                double[] w = e.row(r);
                double ref = 0, mag = 0;
                for (int j = 0; j < cols; j++) {
                    double p = w[j] * a.q(t, j) * (double) a.scale(t, j / 32);
                    ref += p;
                    mag += Math.abs(p);
                }
                assertEquals(ref, sca, 1e-5 * mag + 1e-30, where);
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("shapes")
    void matvecAndMatmulEqualDotQ8BitForBitAtEveryThreadCount(WeightFormat format, int rows, int cols) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        WeightMatrix m = Encoded.random(format, rows, cols, rnd).matrix();
        // A small batch (the per-row path) and one past IntGemm's threshold with a ragged end (IntGemm's).
        for (int batch : new int[] {1 + rnd.nextInt(11), IntGemm.MIN_BATCH + 5}) {
            float[] x = Encoded.gaussian(rnd, batch * cols + 3);
            Q8Activations a = Q8Activations.quantize(x, 0, batch, cols);
            Q8Activations a3 = Q8Activations.quantize(x, 3, 1, cols);
            int initial = Parallel.threads();
            try {
                for (int threads : new int[] {1, 2, 3}) {
                    Parallel.setThreads(threads);
                    float[] mm = new float[batch * rows];
                    m.matmul(x, mm, batch);
                    float[] mv = new float[rows + 1];
                    m.matvec(x, 3, mv, 1);
                    for (int r = 0; r < rows; r++) {
                        String where = format + " " + rows + "x" + cols + " batch " + batch + " threads " + threads + " row " + r + " seed " + seed;
                        if (KernelConfig.integerDot()) {
                            for (int t = 0; t < batch; t++) {
                                assertEquals(Float.floatToRawIntBits(dotQ8(m, r, a, t)), Float.floatToRawIntBits(mm[t * rows + r]), where + " token " + t);
                            }
                            assertEquals(Float.floatToRawIntBits(dotQ8(m, r, a3, 0)), Float.floatToRawIntBits(mv[1 + r]), where + " matvec");
                            assertEquals(Float.floatToRawIntBits(m.dotScalar(r, x, 3)), Float.floatToRawIntBits(mv[1 + r]), where + " dotScalar");
                        } else {
                            assertEquals(Float.floatToRawIntBits(m.dot(r, x, 3)), Float.floatToRawIntBits(mv[1 + r]), where + " float matvec");
                        }
                    }
                }
            } finally {
                Parallel.setThreads(initial);
            }
        }
    }

    /** IntGemm on activations with all-zero blocks and scales over a 2^8 range, against dotQ8 and the scalar reference. */
    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("shapes")
    void tokenTiledMatmulEqualsDotQ8AndTheScalarReference(WeightFormat format, int rows, int cols) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        WeightMatrix m = Encoded.random(format, rows, cols, rnd).matrix();
        int batch = IntGemm.MIN_BATCH + 1 + rnd.nextInt(IntGemm.TT);
        Q8Activations a = activations(rnd, batch, cols);
        float[] x = new float[batch * cols];
        for (int t = 0; t < batch; t++) {
            for (int j = 0; j < cols; j++) {
                x[t * cols + j] = a.q(t, j) * a.scale(t, j / 32); // re-quantizes to the same integers and scales
            }
        }
        float[] mm = new float[batch * rows];
        m.matmul(x, mm, batch);
        Q8Activations back = Q8Activations.quantize(x, 0, batch, cols);
        for (int t = 0; t < batch; t++) {
            for (int r = 0; r < rows; r++) {
                String where = format + " " + rows + "x" + cols + " batch " + batch + " row " + r + " token " + t + " seed " + seed;
                if (KernelConfig.integerDot()) {
                    assertEquals(Float.floatToRawIntBits(dotQ8Scalar(m, r, back, t)), Float.floatToRawIntBits(mm[t * rows + r]), where);
                } else {
                    assertEquals(Float.floatToRawIntBits(m.dot(r, x, t * cols)), Float.floatToRawIntBits(mm[t * rows + r]), where);
                }
            }
        }
    }

    /** One token tile of rows wider than IntGemm.ONE_TILE_MAX_COLS goes to ShortRowGemm where that runs; more tiles stay tiled. */
    @org.junit.jupiter.api.Test
    void oneTileOfWideRowsRunsShortRowGemm() {
        boolean shortRows = KernelConfig.shortRows() && IntDot.WIDE;
        int wide = IntGemm.ONE_TILE_MAX_COLS + 32;
        assertEquals(IntGemm.serves(IntGemm.TT), IntGemm.serves(IntGemm.TT, IntGemm.ONE_TILE_MAX_COLS));
        assertEquals(IntGemm.serves(IntGemm.TT) && !shortRows, IntGemm.serves(IntGemm.TT, wide));
        assertEquals(shortRows, ShortRowGemm.serves(IntGemm.TT, wide));
        assertEquals(shortRows && !IntGemm.serves(IntGemm.TT), ShortRowGemm.serves(IntGemm.TT, IntGemm.ONE_TILE_MAX_COLS));
        assertEquals(IntGemm.serves(IntGemm.TT + 1), IntGemm.serves(IntGemm.TT + 1, wide));
        assertTrue(!ShortRowGemm.serves(IntGemm.TT + 1, wide) || !IntGemm.serves(IntGemm.TT + 1, wide));
    }

    /**
     * Batches 2 to 33, the engine's decode steps: the matmul as dispatched, and IntRowGemm (one decode
     * per row, four tokens a pass, then single tokens) and ShortRowGemm called directly, on odd row counts and block
     * counts, against dotQ8 and the scalar reference bit for bit, at 1 and 3 threads.
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(value = WeightFormat.class, names = {"Q8_0", "Q4_0"})
    void smallBatchMatmulEqualsDotQ8BitForBitForEveryBatchFrom2To33(WeightFormat format) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        assertEquals(IntDot.WIDE && KernelConfig.tokenTiles() && KernelConfig.rowGemm(), IntRowGemm.serves(IntRowGemm.MIN_BATCH),
                "IntRowGemm serves from its threshold when enabled");
        assertTrue(!IntRowGemm.serves(IntRowGemm.MIN_BATCH - 1) && !IntRowGemm.serves(IntGemm.MIN_BATCH));
        int initial = Parallel.threads();
        try {
            for (int batch = 2; batch <= 33; batch++) {
                int rows = new int[] {1, 5, 17}[batch % 3];
                int cols = new int[] {32, 96, 160, 2080}[batch % 4];
                WeightMatrix m = Encoded.random(format, rows, cols, rnd).matrix();
                Q8Activations a = activations(rnd, batch, cols);
                float[] x = new float[batch * cols];
                for (int t = 0; t < batch; t++) {
                    for (int j = 0; j < cols; j++) {
                        x[t * cols + j] = a.q(t, j) * a.scale(t, j / 32); // re-quantizes to the same integers and scales
                    }
                }
                Q8Activations back = Q8Activations.quantize(x, 0, batch, cols);
                for (int threads : new int[] {1, 3}) {
                    Parallel.setThreads(threads);
                    float[] mm = new float[batch * rows];
                    m.matmul(x, mm, batch);
                    // IntRowGemm itself, whether or not the dispatch picks it at this batch (256-bit forms only).
                    float[] rg = new float[batch * rows];
                    // ShortRowGemm too (rows widened to shorts, two tokens a pass, an odd last one alone).
                    float[] sg = new float[batch * rows];
                    // And TokenPairGemm (two tokens a 512-bit vector, pairs two at a time, an odd last token padded).
                    float[] pg = new float[batch * rows];
                    if (IntDot.WIDE) {
                        IntRowGemm.rows((IntDot.Format) m, 0, rows, back, IntRowGemm.activationLanes(back), rg);
                        ShortRowGemm.rows((IntDot.Format) m, 0, rows, back, sg);
                    }
                    if (TokenPairGemm.AVAILABLE) {
                        TokenPairGemm.rows((IntDot.Format) m, 0, rows, back, pg);
                    }
                    for (int t = 0; t < batch; t++) {
                        for (int r = 0; r < rows; r++) {
                            String where = format + " " + rows + "x" + cols + " batch " + batch + " threads " + threads + " row " + r + " token " + t + " seed " + seed;
                            float want = KernelConfig.integerDot() ? dotQ8Scalar(m, r, back, t) : m.dot(r, x, t * cols);
                            assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(mm[t * rows + r]), where);
                            if (KernelConfig.integerDot()) {
                                assertEquals(Float.floatToRawIntBits(dotQ8(m, r, back, t)), Float.floatToRawIntBits(mm[t * rows + r]), where + " (dotQ8)");
                            }
                            if (IntDot.WIDE) {
                                assertEquals(Float.floatToRawIntBits(dotQ8Scalar(m, r, back, t)), Float.floatToRawIntBits(rg[t * rows + r]), where + " (IntRowGemm)");
                                assertEquals(Float.floatToRawIntBits(dotQ8Scalar(m, r, back, t)), Float.floatToRawIntBits(sg[t * rows + r]), where + " (ShortRowGemm)");
                            }
                            if (TokenPairGemm.AVAILABLE) {
                                assertEquals(Float.floatToRawIntBits(dotQ8Scalar(m, r, back, t)), Float.floatToRawIntBits(pg[t * rows + r]), where + " (TokenPairGemm)");
                            }
                        }
                    }
                }
            }
        } finally {
            Parallel.setThreads(initial);
        }
    }

    /**
     * The largest integer lanes IntRowGemm's float sums must hold exactly: Q8_0 weights at -128 or
     * 127 against activations at +-127 (|lane| up to 4 * 128 * 127 = 65024), with the same and with
     * alternating signs, and f16 scales from 2^-14 to 2^15; IntRowGemm's rows against the scalar reference.
     */
    @Test
    void rowGemmHoldsTheLargestLanesExactly() {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int rows = 6, cols = 96, batch = 13;
        for (int trial = 0; trial < 6; trial++) {
            Q8_0Matrix m = BatchedKernelChecks.largestLanesQ8_0(rnd, rows, cols, trial);
            float[] x = BatchedKernelChecks.largestLanesInput(trial, batch, cols);
            Q8Activations a = Q8Activations.quantize(x, 0, batch, cols);
            assertEquals(127, Math.abs(a.q(0, 1)));
            float[] out = new float[batch * rows];
            float[] shorts = new float[batch * rows];
            float[] tokenPairs = new float[batch * rows];
            if (IntDot.WIDE) {
                IntRowGemm.rows(m, 0, rows, a, IntRowGemm.activationLanes(a), out);
                ShortRowGemm.rows(m, 0, rows, a, shorts);
            } else {
                m.matmul(x, out, batch);
                m.matmul(x, shorts, batch);
            }
            if (TokenPairGemm.AVAILABLE) {
                TokenPairGemm.rows(m, 0, rows, a, tokenPairs);
            } else {
                m.matmul(x, tokenPairs, batch);
            }
            for (int t = 0; t < batch; t++) {
                for (int r = 0; r < rows; r++) {
                    assertEquals(Float.floatToRawIntBits(m.dotQ8Scalar(r, a, t)), Float.floatToRawIntBits(out[t * rows + r]),
                            "trial " + trial + " token " + t + " row " + r + ", seed " + seed);
                    assertEquals(Float.floatToRawIntBits(m.dotQ8Scalar(r, a, t)), Float.floatToRawIntBits(shorts[t * rows + r]),
                            "ShortRowGemm, trial " + trial + " token " + t + " row " + r + ", seed " + seed);
                    assertEquals(Float.floatToRawIntBits(m.dotQ8Scalar(r, a, t)), Float.floatToRawIntBits(tokenPairs[t * rows + r]),
                            "TokenPairGemm, trial " + trial + " token " + t + " row " + r + ", seed " + seed);
                }
            }
        }
    }

    /**
     * Q4_0's batch-1 kernel multiplies packed bytes against Q4Activations' rearranged integers, whose
     * 16-bit intermediates are the largest at the extreme nibbles: bytes 0x00, 0xFF, 0x0F, 0xF0 and
     * random extremes against activations at +-127 (same signs, alternating, random), every block; the
     * vector dot must equal the scalar reference bit for bit and the exact integer sum.
     */
    @Test
    void q4PackedKernelHoldsTheExtremeNibblesExactly() {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int rows = 5, cols = 128, blocks = cols / 32;
        Q4_0Matrix m = BatchedKernelChecks.extremeNibblesQ4_0(rnd, rows, cols);
        java.lang.foreign.MemorySegment seg = m.data();
        int batch = 3;
        float[] x = new float[batch * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = switch (i / cols) {
                case 0 -> 1f;
                case 1 -> (i & 1) == 0 ? -1f : 1f;
                default -> rnd.nextBoolean() ? -1f : 1f;
            };
        }
        Q8Activations a = Q8Activations.quantize(x, 0, batch, cols);
        assertEquals(127, Math.abs(a.q(2, 5)));
        for (int t = 0; t < batch; t++) {
            for (int r = 0; r < rows; r++) {
                long exact = 0, mag = 0;
                for (int j = 0; j < cols; j++) {
                    int byteAt = seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, (r * blocks + j / 32) * 18L + 2 + j % 16) & 0xFF;
                    int w = (j % 32 < 16 ? byteAt & 0x0F : byteAt >>> 4) - 8;
                    exact += (long) w * a.q(t, j);
                    mag += Math.abs((long) w * a.q(t, j));
                }
                String where = "row " + r + " token " + t + ", seed " + seed;
                float vec = m.dotQ8(r, a, t);
                assertEquals(Float.floatToRawIntBits(m.dotQ8Scalar(r, a, t)), Float.floatToRawIntBits(vec), where);
                float[] viaRows = new float[rows]; // the batch-1 kernel (paired rows where this JVM pairs them)
                m.dotRows(0, rows, a, t, viaRows, 0);
                assertEquals(Float.floatToRawIntBits(vec), Float.floatToRawIntBits(viaRows[r]), where + " dotRows");
                assertEquals(exact * (double) a.scale(t, 0), vec, 1e-6 * mag * a.scale(t, 0), where);
            }
        }
    }

    /**
     * Zero weights against negative activations: the token tiles' first product of a lane is a
     * multiply (-0 for 0 x -5) where the matvec converts an integer 0 (+0); the values must still be
     * the scalar reference's bit for bit, including rows whose every product is zero (+0, not -0).
     */
    @Test
    void tokenTilesGiveTheMatvecsZerosForZeroWeights() {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int rows = 9, cols = 96, blocks = cols / 32;
        java.lang.foreign.MemorySegment seg = java.lang.foreign.Arena.ofAuto().allocate((long) rows * blocks * 34);
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < blocks; b++) {
                long o = (r * blocks + b) * 34L;
                seg.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, o, Float.floatToFloat16(0.01f * (1 + rnd.nextInt(9))));
                boolean zero = r < 2 || (r % 3 == 0 && b != 1) || (r % 3 == 1 && b == 1);
                for (int k = 0; k < 32; k++) {
                    int q = zero || (r % 3 == 2 && k % 4 != 0) ? 0 : rnd.nextInt(256) - 128;
                    seg.set(java.lang.foreign.ValueLayout.JAVA_BYTE, o + 2 + k, (byte) q);
                }
            }
        }
        Q8_0Matrix m = (Q8_0Matrix) WeightMatrix.of(WeightFormat.Q8_0, seg, rows, cols);
        // A tail of 3 tokens (the per-token matvec) and one of TT - 1 (a padded tile).
        for (int batch : new int[] {IntGemm.TT + 3, 2 * IntGemm.TT - 1}) {
            float[] x = new float[batch * cols];
            for (int i = 0; i < x.length; i++) {
                int t = i / cols;
                x[i] = t % 3 == 0 ? -1f - rnd.nextFloat() : (t % 3 == 1 ? (float) rnd.nextGaussian() : -0f);
            }
            Q8Activations a = Q8Activations.quantize(x, 0, batch, cols);
            float[] out = new float[batch * rows];
            if (IntGemm.serves(batch)) {
                IntGemm.matmul(m, a, out);
            } else {
                m.matmul(x, out, batch);
            }
            for (int t = 0; t < batch; t++) {
                for (int r = 0; r < rows; r++) {
                    assertEquals(Float.floatToRawIntBits(m.dotQ8Scalar(r, a, t)), Float.floatToRawIntBits(out[t * rows + r]),
                            "batch " + batch + " token " + t + " row " + r + ", seed " + seed);
                }
            }
            assertEquals(0, Float.floatToRawIntBits(out[0]), "an all-zero row gives +0");
        }
    }

    /**
     * IntGemm called directly for every batch from 2 to 65 (no tile, one tile and a tail through the
     * matvec, padded last tiles, up to four tiles), on row counts that leave a partial last panel and
     * rows past a multiple of the register tile (3, 17, 37) and odd block counts: every (row, token)
     * is dotQ8's and the scalar reference's bit for bit, at 1 and 3 threads. Vector JVMs only call it
     * directly (in the scalar one the matmul's dispatch is checked instead).
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(value = WeightFormat.class, names = {"Q8_0", "Q4_0"})
    void tokenTilesEqualDotQ8BitForBitForEveryBatchFrom2To65(WeightFormat format) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int initial = Parallel.threads();
        try {
            for (int batch = 2; batch <= 65; batch++) {
                int rows = new int[] {3, 17, 37}[batch % 3];
                int cols = new int[] {32, 96, 160}[(batch / 3) % 3];
                WeightMatrix m = Encoded.random(format, rows, cols, rnd).matrix();
                Q8Activations a = activations(rnd, batch, cols);
                float[] x = new float[batch * cols];
                for (int t = 0; t < batch; t++) {
                    for (int j = 0; j < cols; j++) {
                        x[t * cols + j] = a.q(t, j) * a.scale(t, j / 32); // re-quantizes to the same integers and scales
                    }
                }
                Q8Activations ref = IntDot.VECTOR ? a : Q8Activations.quantize(x, 0, batch, cols); // what m.matmul(x) multiplies
                for (int threads : new int[] {1, 3}) {
                    Parallel.setThreads(threads);
                    float[] out = new float[batch * rows];
                    java.util.Arrays.fill(out, Float.NaN); // every entry must be written
                    if (IntDot.VECTOR) {
                        IntGemm.matmul((IntDot.Format) m, a, out);
                    } else {
                        m.matmul(x, out, batch);
                    }
                    for (int t = 0; t < batch; t++) {
                        for (int r = 0; r < rows; r++) {
                            String where = format + " " + rows + "x" + cols + " batch " + batch + " threads " + threads + " row " + r + " token " + t + " seed " + seed;
                            float want = KernelConfig.integerDot() || IntDot.VECTOR ? dotQ8Scalar(m, r, ref, t) : m.dot(r, x, t * cols);
                            assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(out[t * rows + r]), where);
                            if (IntDot.VECTOR) {
                                assertEquals(Float.floatToRawIntBits(dotQ8(m, r, a, t)), Float.floatToRawIntBits(out[t * rows + r]), where + " (dotQ8)");
                            }
                        }
                    }
                }
            }
        } finally {
            Parallel.setThreads(initial);
        }
    }

    /** A layer's Q, K, V as one call: every value is the separate matvec's or matmul's, bit for bit, mixed formats and all. */
    @ParameterizedTest(name = "batch {0}")
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 2, 5, 8, 12, 15, 16, 33, 69})
    void matmulEachEqualsSeparateMatmulsBitForBit(int batch) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int cols = 160;
        WeightMatrix[] ms = {
                Encoded.random(WeightFormat.Q8_0, 67, cols, rnd).matrix(),
                Encoded.random(WeightFormat.Q4_0, 3, cols, rnd).matrix(),
                Encoded.random(WeightFormat.Q8_0, 40, cols, rnd).matrix(),
                Encoded.random(WeightFormat.F32, 9, cols, rnd).matrix()};
        float[] x = Encoded.gaussian(rnd, batch * cols);
        int initial = Parallel.threads();
        try {
            for (int threads : new int[] {1, 2, 3}) {
                Parallel.setThreads(threads);
                for (int n : new int[] {3, 4}) { // integer formats only (one quantization), then with F32 (separate calls)
                    WeightMatrix[] some = java.util.Arrays.copyOf(ms, n);
                    float[][] outs = new float[n][];
                    for (int i = 0; i < n; i++) outs[i] = new float[batch * some[i].rows()];
                    WeightMatrix.matmulEach(some, x, outs, batch);
                    for (int i = 0; i < n; i++) {
                        float[] want = new float[batch * some[i].rows()];
                        if (batch == 1) some[i].matvec(x, 0, want, 0); else some[i].matmul(x, want, batch);
                        for (int j = 0; j < want.length; j++) {
                            assertEquals(Float.floatToRawIntBits(want[j]), Float.floatToRawIntBits(outs[i][j]),
                                    "matrix " + i + " of " + n + ", value " + j + ", batch " + batch + ", threads " + threads + ", seed " + seed);
                        }
                    }
                }
            }
        } finally {
            Parallel.setThreads(initial);
        }
        assertThrows(IllegalArgumentException.class, () -> WeightMatrix.matmulEach(ms, x, new float[1][], batch));
    }

    @Test
    void quantizedActivationsRoundToTheNearestStepOfTheirBlock() {
        Random rnd = new Random(7);
        int cols = 96;
        float[] x = Encoded.gaussian(rnd, cols + 1);
        x[1 + 5] = -3.5f; // the block's extreme maps to -127 exactly
        java.util.Arrays.fill(x, 1 + 32, 1 + 64, 0f);
        Q8Activations a = Q8Activations.quantize(x, 1, 1, cols);
        assertEquals(1, a.rows());
        assertEquals(cols, a.cols());
        assertEquals(0f, a.scale(0, 1));
        for (int j = 32; j < 64; j++) assertEquals(0, a.q(0, j));
        for (int j = 0; j < cols; j++) {
            float d = a.scale(0, j / 32);
            assertTrue(Math.abs(a.q(0, j)) <= 127);
            assertTrue(Math.abs(x[1 + j] - a.q(0, j) * (double) d) <= d * 0.5000001, "element " + j);
        }
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[1 + j]));
        assertEquals(amax / 127f, a.scale(0, 0));
        assertEquals(-127, a.q(0, 5));
    }

    @Test
    void quantizeRejectsBadShapes() {
        float[] x = new float[64];
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Q8Activations.quantize(x, 0, 1, 33)).getMessage().contains("cols"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Q8Activations.quantize(x, 0, 1, 0)).getMessage().contains("cols"));
        assertThrows(IndexOutOfBoundsException.class, () -> Q8Activations.quantize(x, 1, 2, 32));
    }

    @Test
    void activationsOfTheWrongWidthAreRejected() {
        Q8_0Matrix m = (Q8_0Matrix) Encoded.random(WeightFormat.Q8_0, 2, 64, new Random(1)).matrix();
        Q8Activations a = Q8Activations.quantize(new float[32], 0, 1, 32);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> m.dotQ8(0, a, 0)).getMessage().contains("columns"));
        Q8Activations ok = Q8Activations.quantize(new float[64], 0, 1, 64);
        assertThrows(IndexOutOfBoundsException.class, () -> m.dotQ8(0, ok, 1));
    }
}
