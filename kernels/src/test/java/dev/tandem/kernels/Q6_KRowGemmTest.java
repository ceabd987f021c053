package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Q6_K's matmul below a token tile ({@link Q6_KRowGemm} where 256-bit vectors run, the per-row kernel
 * elsewhere) against each token's dot, bit for bit, on the extremes of its 16-bit products: every
 * quant bit clear (q-32 = -32) or set (31), scales at -128 and 127, activations all at +127 or
 * alternating +-127, and random bytes with gaussian activations; odd and even batches (the pair
 * kernel and the lone last token) up to one short of KQuantGemm's smallest batch.
 */
class Q6_KRowGemmTest {
    @Test
    void smallBatchesEqualEachTokensDotBitForBit() {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int rows = 5, cols = 768, blockBytes = WeightFormat.Q6_K.blockBytes();
        int[] batches = {2, 3, 4, 5, 8, KQuantGemm.minBatch(
                (KQuantMatrix) WeightMatrix.of(WeightFormat.Q6_K, Arena.ofAuto().allocate(blockBytes), 1, 256)) - 1};
        for (int trial = 0; trial < 12; trial++) {
            int batch = batches[trial % batches.length];
            WeightMatrix m = KQuantGemmTest.matrix(WeightFormat.Q6_K, rows, cols, trial, rnd);
            float[] x = KQuantGemmTest.activations(batch, cols, trial, rnd);
            float[] out = new float[batch * rows];
            if (Q6_KRowGemm.serves(batch)) { // directly: the dispatch sends some of these batches to KQuantGemm
                Q6_KRowGemm.rows((Q6_KMatrix) m, Q8_KActivations.quantize(x, 0, batch * cols, true), batch, out, 0, 0, rows);
            } else {
                m.matmul(x, out, batch);
            }
            for (int t = 0; t < batch; t++) {
                for (int r = 0; r < rows; r++) {
                    float dot = m.dot(r, x, t * cols);
                    assertEquals(Float.floatToRawIntBits(dot), Float.floatToRawIntBits(out[t * rows + r]),
                            "trial " + trial + " batch " + batch + " token " + t + " row " + r + ": " + dot + " vs "
                                    + out[t * rows + r] + ", seed " + seed);
                }
            }
        }
    }

    @Test
    void rowGemmTakesTheBatchesBelowAPaddedTileOnWideVectors() {
        KQuantMatrix m = (KQuantMatrix) WeightMatrix.of(WeightFormat.Q6_K, Arena.ofAuto().allocate(210), 1, 256);
        boolean rowGemm = IntDot.WIDE && KernelConfig.shortRows();
        assertEquals(rowGemm, Q6_KRowGemm.serves(2));
        assertEquals(rowGemm ? KQuantGemm.MIN_TAIL : IntDot.WIDE ? Vec.FL : 2 * KQuantGemm.TT, KQuantGemm.minBatch(m));
    }
}
