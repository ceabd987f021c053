package dev.tandem.runtime.profile;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The JIT is quiet only with nothing compiling and both queues empty, as the Compiler.queue command prints them. */
class JitQuietTest {
    @Test
    void idleOnlyWithNothingCompilingAndBothQueuesEmpty() {
        assertTrue(JitQuiet.idle("Current compiles: \n\nC1 compile queue:\nEmpty\n\nC2 compile queue:\nEmpty\n\n"));
        assertFalse(JitQuiet.idle("Current compiles: \nC2 CompilerThread0  3610       4       dev.tandem.kernels.Ops::rmsnorm (173 bytes)\n\n"
                + "C1 compile queue:\nEmpty\n\nC2 compile queue:\nEmpty\n"), "a compile running");
        assertFalse(JitQuiet.idle("Current compiles: \n\nC1 compile queue:\nEmpty\n\nC2 compile queue:\n"
                + "3611       4       dev.tandem.kernels.Ops::siluMul (166 bytes)\n"), "a compile queued for C2");
        assertFalse(JitQuiet.idle("Current compiles: \n\nC1 compile queue:\n3612       3       dev.tandem.kernels.Ops::rope (12 bytes)\n\n"
                + "C2 compile queue:\nEmpty\n"), "a compile queued for C1");
    }
}
