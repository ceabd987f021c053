package dev.tandem.server;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StopMatcherTest {
    @Test
    void holdsBackAPossibleStopAndCutsAtTheMatch() {
        StopMatcher m = new StopMatcher(List.of("END", "\n\n"));
        assertEquals("abc ", m.accept("abc E"));
        assertEquals("", m.accept("N"));
        assertFalse(m.stopped());
        assertEquals("", m.accept("Dx"));
        assertTrue(m.stopped());
        assertEquals("", m.accept("more"));
    }

    @Test
    void releasesAHeldTailThatDidNotMatch() {
        StopMatcher m = new StopMatcher(List.of("END"));
        assertEquals("a", m.accept("aE"));
        assertEquals("EX", m.accept("X"));
        assertEquals("", m.accept("EN"));
        assertEquals("EN", m.flush());
        assertFalse(m.stopped());
    }

    @Test
    void withoutStopsEverythingPasses() {
        StopMatcher m = new StopMatcher(List.of());
        assertEquals("hello", m.accept("hello"));
        assertEquals("", m.flush());
    }
}
