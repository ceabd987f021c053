package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * KQuantGemm (the K-quants' token-tiled matmul) against each token's dot, bit for bit, on the
 * extremes its exact float sums depend on: every quant bit clear or set, scales at their limits
 * (Q6_K at -128 with q-32 = -32 makes sc*q = 4096, the bound {@link KQuantMatrix#exactGroup} is
 * sized for), activations all at +127, alternating +-127, or gaussian; plus random bytes. Rows are
 * R + 1 (a register tile and one row the dot serves) and the batches end in partial token tiles.
 * Both tile shapes ({@link KQuantGemm.Tile}) are run directly, whatever the dispatch picks, on every
 * batch from 1 to a vector and a bit, rows that are no multiple of the 8-row tile, and 1 and 3 threads.
 */
class KQuantGemmTest {
    /** Byte offsets of the f16 super-block scales (d, and dmin where there is one) per format. */
    private static int[] halves(WeightFormat f) {
        return switch (f) {
            case Q2_K -> new int[] {80, 82};
            case Q3_K -> new int[] {108};
            case Q4_K, Q5_K -> new int[] {0, 2};
            case Q6_K -> new int[] {208};
            default -> throw new IllegalArgumentException(f.toString());
        };
    }

    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void matmulEqualsEachTokensDotBitForBitAtTheExtremes(WeightFormat format) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int cols = 512;
        for (int trial = 0; trial < 12; trial++) {
            // One panel with a row past its 4-row groups, or three panels (results copied out per panel).
            int rows = trial % 2 == 0 ? KQuantGemm.R + 1 : 37;
            // One vector of tokens (the smallest batch Q4_K tiles; Q6_K's runs Q6_KRowGemm on 256-bit
            // vectors, see Q6_KRowGemmTest), a tile and a bit, two tiles and a bit (every format).
            int batch = new int[] {Vec.FL, KQuantGemm.TT + 3, 2 * KQuantGemm.TT + 3}[trial / 4];
            WeightMatrix m = matrix(format, rows, cols, trial, rnd);
            float[] x = activations(batch, cols, trial, rnd);
            float[] out = new float[batch * rows];
            m.matmul(x, out, batch);
            for (int t = 0; t < batch; t++) {
                for (int r = 0; r < rows; r++) {
                    float dot = m.dot(r, x, t * cols);
                    assertEquals(Float.floatToRawIntBits(dot), Float.floatToRawIntBits(out[t * rows + r]),
                            format + " trial " + trial + " token " + t + " row " + r + ": " + dot + " vs " + out[t * rows + r] + ", seed " + seed);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void bothTilesEqualEachTokensDotBitForBitAtEveryDecodeBatch(WeightFormat format) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int cols = 768, initial = Parallel.threads();
        try {
            for (int trial = 0; trial < 6; trial++) {
                // 8-row tiles and a rest of 5 (one panel, then 16-row panels with a ragged last one).
                int rows = trial % 2 == 0 ? 13 : 16 * 2 + 8 + 5;
                WeightMatrix m = matrix(format, rows, cols, trial, rnd);
                for (int threads : new int[] {1, 3}) {
                    Parallel.setThreads(threads);
                    for (int batch = 1; batch <= Vec.FL + 3; batch++) {
                        float[] x = activations(batch, cols, trial, rnd);
                        for (KQuantGemm.Tile tile : KQuantGemm.Tile.values()) {
                            float[] out = new float[batch * rows];
                            KQuantGemm.matmul((KQuantMatrix) m, x, out, batch, tile);
                            String where = format + " " + tile + " trial " + trial + " rows " + rows + " batch " + batch
                                    + " threads " + threads + ", seed " + seed;
                            for (int t = 0; t < batch; t++) {
                                for (int r = 0; r < rows; r++) {
                                    float dot = m.dot(r, x, t * cols);
                                    assertEquals(Float.floatToRawIntBits(dot), Float.floatToRawIntBits(out[t * rows + r]),
                                            where + " token " + t + " row " + r + ": " + dot + " vs " + out[t * rows + r]);
                                }
                            }
                        }
                    }
                }
            }
        } finally {
            Parallel.setThreads(initial);
        }
    }

    @Test
    void oneVectorTileTakesDecodeBatchesOnlyOn512BitVectors() {
        for (WeightFormat format : new WeightFormat[] {WeightFormat.Q2_K, WeightFormat.Q4_K, WeightFormat.Q6_K}) {
            KQuantMatrix m = (KQuantMatrix) WeightMatrix.of(format, Arena.ofAuto().allocate(format.blockBytes()), 1, 256);
            boolean wide = Vec.FL >= 16 && m.vectorDecode();
            for (int batch = 2; batch <= 3 * KQuantGemm.TT; batch++) {
                KQuantGemm.Tile tile = KQuantGemm.autoTile(m, batch);
                String where = format + " batch " + batch;
                if (wide) { // 512 bits: below oneMin the rows' kernels, then one vector, then two
                    assertEquals(batch < KQuantGemm.oneMin(m) ? null : batch <= Vec.FL ? KQuantGemm.Tile.ONE : KQuantGemm.Tile.TWO,
                            tile, where);
                } else { // as before the one-vector tile
                    assertEquals(batch >= KQuantGemm.minBatch(m) ? KQuantGemm.Tile.TWO : null, tile, where);
                }
            }
        }
    }

    /**
     * A rows x cols matrix of format: random bytes or every bit clear or set, finite super-scales (0xFFFF
     * would be NaN: 1.0 or a random normal half), Q6_K's scales at their limits in some trials.
     */
    static WeightMatrix matrix(WeightFormat format, int rows, int cols, int trial, Random rnd) {
        int blockBytes = format.blockBytes(), fill = trial % 3 == 0 ? 0x00 : trial % 3 == 1 ? 0xFF : -1;
        long n = (long) rows * (cols / 256) * blockBytes;
        MemorySegment seg = Arena.ofAuto().allocate(n);
        for (long i = 0; i < n; i++) {
            seg.set(ValueLayout.JAVA_BYTE, i, (byte) (fill < 0 ? rnd.nextInt() : fill));
        }
        for (long o = 0; o < n; o += blockBytes) {
            for (int h : halves(format)) {
                short half = trial % 2 == 0 ? (short) 0x3C00 : (short) (0x1000 + rnd.nextInt(0x4000));
                seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, o + h, half);
            }
            if (format == WeightFormat.Q6_K && trial % 4 < 2) {
                for (int s = 0; s < 16; s++) {
                    seg.set(ValueLayout.JAVA_BYTE, o + 192 + s, (byte) (trial % 4 == 0 ? -128 : 127));
                }
            }
        }
        return WeightMatrix.of(format, seg, rows, cols);
    }

    /** Activations all 1, alternating +-1 (both quantize to +-127) or gaussian. */
    static float[] activations(int batch, int cols, int trial, Random rnd) {
        float[] x = new float[batch * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = switch (trial % 3) {
                case 0 -> 1f;
                case 1 -> (i & 1) == 0 ? -1f : 1f;
                default -> (float) rnd.nextGaussian();
            };
        }
        return x;
    }
}
