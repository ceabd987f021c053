package dev.tandem.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A gate's budget: cold() counts calls up to the limit; open() (read by Parallel's spin) counts nothing. */
class ColdStartGateTest {
    @Test
    void openIsTrueExactlyWhileCallsStillRunTheTwin() {
        ColdStart.Gate gate = new ColdStart.Gate("test", 2);
        assertTrue(gate.open());
        assertTrue(gate.open());
        assertEquals(0, gate.calls(), "open() counts nothing");
        assertTrue(gate.cold());
        assertTrue(gate.open());
        assertTrue(gate.cold());
        assertFalse(gate.open(), "the budget is spent");
        assertFalse(gate.cold());
        assertEquals(2, gate.calls());
        gate.reset(0);
        assertFalse(gate.open(), "no budget at all: the vector forms from the first call");
    }
}
