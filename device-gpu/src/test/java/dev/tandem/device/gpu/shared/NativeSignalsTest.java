package dev.tandem.device.gpu.shared;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Changes SIGWINCH (which the JVM leaves alone and whose default is to ignore it) and watches it come back. */
class NativeSignalsTest {
    private static final int SIGWINCH = 28;

    /** A struct sigaction whose handler is SIG_IGN. */
    private static MemorySegment ignoring(Arena arena) {
        MemorySegment action = arena.allocate(256, 16);
        action.set(ValueLayout.JAVA_LONG, 0, 1L);
        return action;
    }

    @Test
    void aDispositionChangedByTheActionIsPutBack() {
        assertTrue(NativeSignals.supported(), "these tests run on Linux");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment[] start = NativeSignals.snapshot(arena);
            String result = NativeSignals.preserving(() -> {
                NativeSignals.install(SIGWINCH, ignoring(arena));
                assertEquals(List.of(SIGWINCH), NativeSignals.changedSince(start, arena), "the action's change is visible inside it");
                return "done";
            });
            assertEquals("done", result);
            assertEquals(List.of(), NativeSignals.changedSince(start, arena));
        }
    }

    @Test
    void anActionThatThrowsStillLeavesTheDispositionsAsTheyWere() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment[] start = NativeSignals.snapshot(arena);
            assertThrows(IllegalStateException.class, () -> NativeSignals.preserving((Runnable) () -> {
                NativeSignals.install(SIGWINCH, ignoring(arena));
                throw new IllegalStateException("driver failed");
            }));
            assertEquals(List.of(), NativeSignals.changedSince(start, arena));
        }
    }

    @Test
    void readingTwiceSeesNoChange() {
        // glibc copies stack noise into the tail of the mask it returns: a byte comparison would differ.
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(List.of(), NativeSignals.changedSince(NativeSignals.snapshot(arena), arena));
        }
    }
}
