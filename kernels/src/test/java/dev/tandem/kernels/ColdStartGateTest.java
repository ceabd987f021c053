package dev.tandem.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A gate's budget: cold() counts calls up to the limit; running() (read by Parallel's spin) counts nothing. */
class ColdStartGateTest {
    @Test
    void runningIsTrueExactlyBetweenTheFirstTwinCallAndTheSpentBudget() {
        ColdStart.Gate gate = new ColdStart.Gate("test", 2);
        assertFalse(gate.running(), "no call yet: a model without twins never counts one and must keep its spin");
        assertEquals(0, gate.calls(), "running() counts nothing");
        assertTrue(gate.cold());
        assertTrue(gate.running());
        assertEquals(1, gate.calls(), "running() counts nothing");
        assertTrue(gate.cold());
        assertFalse(gate.running(), "the budget is spent");
        assertFalse(gate.cold());
        assertEquals(2, gate.calls());
        gate.reset(0);
        assertFalse(gate.cold(), "no budget at all: the vector forms from the first call");
        assertFalse(gate.running());
    }
}
