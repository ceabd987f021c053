package dev.tandem.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A gate's budget: cold(work) charges work up to the budget, a call that does not fit spends it;
 * running() (read by Parallel's spin) counts nothing. The default budget covers a decode token of
 * stories110M but not a big prefill call.
 */
class ColdStartGateTest {
    @Test
    void runningIsTrueExactlyBetweenTheFirstTwinCallAndTheSpentBudget() {
        ColdStart.Gate gate = new ColdStart.Gate("test", 2);
        assertFalse(gate.running(), "no call yet: a model without twins never counts one and must keep its spin");
        assertEquals(0, gate.calls(), "running() counts nothing");
        assertTrue(gate.cold(1));
        assertTrue(gate.running());
        assertEquals(1, gate.calls(), "running() counts nothing");
        assertTrue(gate.cold(1));
        assertFalse(gate.running(), "the budget is spent");
        assertFalse(gate.cold(1));
        assertEquals(2, gate.calls());
        gate.reset(0);
        assertFalse(gate.cold(1), "no budget at all: the vector forms from the first call");
        assertFalse(gate.running());
    }

    @Test
    void chargesWorkAndACallThatDoesNotFitSpendsTheBudget() {
        ColdStart.Gate gate = new ColdStart.Gate("test", 100);
        assertTrue(gate.cold(60));
        assertEquals(60, gate.spent());
        assertTrue(gate.running());
        assertFalse(gate.cold(41), "41 does not fit in the 40 left: the vector form");
        assertEquals(100, gate.spent(), "and the budget is spent");
        assertFalse(gate.running(), "so Parallel spins again");
        assertFalse(gate.cold(1), "every later call runs the vector form, however small");
        assertEquals(1, gate.calls());

        gate.reset(100);
        assertFalse(gate.cold(101), "a first call bigger than the budget never runs scalar");
        assertFalse(gate.running(), "and no twin ran");
        assertFalse(gate.cold(1));
        assertEquals(0, gate.calls());

        gate.reset(100);
        assertTrue(gate.cold(0), "an empty call still counts");
        assertEquals(1, gate.spent());
    }

    @Test
    void theDefaultBudgetCoversADecodeTokenNotABigPrefillCall() {
        long budget = ColdStart.DEFAULT_UNITS * ColdStart.MATRIX_UNIT;
        // stories110M: 12 layers of 4 dim x dim and 3 dim x hidden matvecs, and the classifier.
        long dim = 768, hidden = 2048, vocab = 32000;
        long token = 12 * (4 * dim * dim + 3 * dim * hidden) + vocab * dim;
        ColdStart.Gate matvecs = new ColdStart.Gate("matvecs", budget);
        for (int layer = 0; layer < 12; layer++) {
            for (int m = 0; m < 4; m++) {
                assertTrue(matvecs.cold(dim * dim), "layer " + layer + " attention matrix " + m);
            }
            for (int m = 0; m < 3; m++) {
                assertTrue(matvecs.cold(dim * hidden), "layer " + layer + " ffn matrix " + m);
            }
        }
        assertTrue(matvecs.cold(vocab * dim), "the classifier");
        assertEquals(token, matvecs.spent());
        assertTrue(matvecs.running());

        ColdStart.Gate matmuls = new ColdStart.Gate("matmuls", budget);
        assertFalse(matmuls.cold(dim * dim * 256), "a 256-token prefill's first matmul runs the vector form");
        assertFalse(matmuls.cold(dim * dim * 2), "and so does every later one");
        assertTrue(new ColdStart.Gate("matmuls", budget).cold(dim * dim * 64),
                "a 64-token chunk's first matrix fits: at most one budget of scalar work");
    }

    @Test
    void batchOneCallsAndBatchedCallsHaveTheirOwnGates() {
        assertSame(ColdStart.MATVECS, ColdStart.matrices(1));
        assertSame(ColdStart.MATMULS, ColdStart.matrices(2));
        assertSame(ColdStart.MATMULS, ColdStart.matrices(256));
    }
}
