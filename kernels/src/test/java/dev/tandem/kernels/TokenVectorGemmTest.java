package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link TokenVectorGemm} (IntGemm's float form with a tile of one token vector and 8-row register
 * tiles): every (row, token) is dotQ8's and the scalar reference's bit for bit, called directly
 * (vector JVMs) for batches 1 to 40 (a partial tile, one full tile, a full and a ragged one, up to
 * three), on row counts with and without a last group of fewer than 8 rows, odd block counts and a
 * long row, at 1 and 3 threads; matmulEach equals separate matmuls; and the dispatch's range.
 */
class TokenVectorGemmTest {
    private static final BatchedKernelChecks.Kernel KERNEL = TokenVectorGemm::matmulEach;

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = WeightFormat.class, names = {"Q8_0", "Q4_0"})
    void everyBatchFrom1To40EqualsDotQ8BitForBit(WeightFormat format) {
        if (!IntDot.VECTOR) {
            return; // never dispatched here (serves is false there), checked below
        }
        BatchedKernelChecks.everyBatchFrom1To40(KERNEL, format, new int[] {3, 8, 17, 37});
    }

    @Test
    void holdsTheLargestLanesExactly() {
        if (!IntDot.VECTOR) {
            return;
        }
        BatchedKernelChecks.holdsTheLargestLanesExactly(KERNEL, 19, 21);
    }

    @Test
    void matmulEachEqualsSeparateMatmuls() {
        if (!IntDot.VECTOR) {
            return;
        }
        BatchedKernelChecks.matmulEachEqualsSeparateMatmuls(KERNEL);
    }

    @Test
    void servesItsRangeAndNeverIntGemmsBatches() {
        for (int batch = 1; batch <= 80; batch++) {
            if (TokenVectorGemm.serves(batch)) {
                assertTrue(IntDot.VECTOR && batch >= 2 && !IntGemm.serves(batch), "batch " + batch);
            }
        }
        if (KernelConfig.tokenVectors() < 0) {
            boolean on = IntDot.VECTOR && KernelConfig.tokenTiles() && Vec.FL >= 16;
            assertEquals(on, TokenVectorGemm.serves(TokenVectorGemm.MIN_BATCH));
            assertEquals(on, TokenVectorGemm.serves(TokenVectorGemm.MAX_BATCH));
            assertEquals(on, TokenVectorGemm.serves(TokenVectorGemm.MIN_TWO_TILES));
            assertTrue(!TokenVectorGemm.serves(TokenVectorGemm.MIN_BATCH - 1) && !TokenVectorGemm.serves(TokenVectorGemm.MAX_BATCH + 1));
            assertTrue(!TokenVectorGemm.serves(TokenVectorGemm.TT + 1) && !TokenVectorGemm.serves(TokenVectorGemm.MIN_TWO_TILES - 1));
        }
    }
}
