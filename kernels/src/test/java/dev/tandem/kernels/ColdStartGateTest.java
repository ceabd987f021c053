package dev.tandem.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A gate's budget: cold(work) charges work up to the budget, a call that does not fit spends it;
 * running() (read by Parallel's spin) counts nothing. The default budget covers a decode token but
 * not a big prefill call.
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
    void endTwinsSendsEveryFamilyToItsVectorForm() {
        try {
            ColdStart.resetAll(ColdStart.DEFAULT_UNITS);
            assertTrue(ColdStart.coldMatrix(1, 768L * 32000), "a fresh budget: the classifier's matvec runs its twin");
            ColdStart.endTwins();
            assertFalse(ColdStart.coldMatrix(1, 768L * 32000));
            assertFalse(ColdStart.coldMatrix(16, 768L * 768));
            assertFalse(ColdStart.OPS.cold(1));
            assertFalse(ColdStart.ROWS.cold(1));
            assertFalse(ColdStart.matricesRunning());
        } finally {
            ColdStart.resetAll(0); // this module's test JVMs run without twins (tandem.coldWork=0)
        }
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
    void theDefaultBudgetCoversADecodeTokenAndBoundsAPrefill() {
        // A decode token of a 12-layer model (stories110M) with 7 matvecs a layer and the classifier,
        // each charged 1: all of it runs the twins, as under the old count of 128 calls.
        ColdStart.Gate matvecs = new ColdStart.Gate("matvecs", ColdStart.DEFAULT_UNITS);
        for (int call = 0; call < 12 * 7 + 1; call++) {
            assertTrue(matvecs.cold(1), "decode call " + call);
        }
        assertTrue(matvecs.running());

        // Batched calls are charged multiply-adds. stories110M's 12 layers make 7 matmuls of ~7.1 M
        // multiply-adds a token between them: a 16-token prompt (1.4 G) fits in the default budget (6.1 G),
        // a 256-token one (22 G) does not.
        long layerMacs = 4L * 768 * 768 + 3L * 768 * 2048;
        ColdStart.Gate matmuls = new ColdStart.Gate("matmuls", ColdStart.DEFAULT_UNITS * ColdStart.MATMUL_MACS_PER_UNIT);
        for (int layer = 0; layer < 12; layer++) {
            assertTrue(matmuls.cold(16 * layerMacs), "16-token prompt, layer " + layer);
        }
        assertTrue(matmuls.running());
        ColdStart.Gate big = new ColdStart.Gate("matmuls", ColdStart.DEFAULT_UNITS * ColdStart.MATMUL_MACS_PER_UNIT);
        assertFalse(big.cold(256 * 12 * layerMacs), "a 256-token prefill's work at once runs the vector form");
        assertFalse(big.cold(2), "and so does every later call");
        assertEquals(0, big.calls());
    }

    @Test
    void aPrefillThatDoesNotFitRunsVectorFormsFromItsFirstCall() {
        long layerMacs = 4L * 768 * 768 + 3L * 768 * 2048;
        try {
            ColdStart.resetAll(ColdStart.DEFAULT_UNITS);
            ColdStart.expectBatchedWork(16 * 12 * layerMacs);
            assertTrue(ColdStart.coldMatrix(16, layerMacs), "a prefill that fits keeps its twins");
            assertTrue(ColdStart.OPS.cold(1), "and its float ops' twins");
            ColdStart.expectBatchedWork(96 * 12 * layerMacs);
            assertFalse(ColdStart.coldMatrix(2, 1), "one that does not fit spends the matrices' budget");
            assertFalse(ColdStart.OPS.cold(1), "and the float ops'");
            assertTrue(ColdStart.coldMatrix(1, layerMacs), "decode keeps its own twins");
            assertThrows(IllegalArgumentException.class, () -> ColdStart.expectBatchedWork(-1));
        } finally {
            ColdStart.resetAll(0); // this module's test JVMs run without twins (tandem.coldWork=0)
        }
    }

    @Test
    void batchOneCallsAndBatchedCallsHaveTheirOwnGates() {
        assertSame(ColdStart.MATVECS, ColdStart.matrices(1));
        assertSame(ColdStart.MATMULS, ColdStart.matrices(2));
        assertSame(ColdStart.MATMULS, ColdStart.matrices(256));
    }
}
