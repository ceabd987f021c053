package dev.tandem.device.gpu.shared;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Keeps a driver from taking the JVM's signal handlers. PoCL initialises LLVM, and LLVM installs its
 * own crash handlers for SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGUSR2, SIGINT, SIGTERM... with
 * SA_RESETHAND. HotSpot raises SIGSEGV on purpose (armed safepoint polls, implicit null checks) and
 * needs SIGUSR2 to suspend threads: with LLVM's handler in place the first such fault resets the
 * disposition to SIG_DFL, and a second thread faulting before LLVM puts the JVM's handler back kills
 * the process with no hs_err file (seen twice on two kernel threads; {@code -Xcheck:jni} names
 * libLLVM as the owner of the handlers). Each call that may initialise the driver runs inside
 * {@link #preserving}, which puts back every disposition the call changed. Linux only (glibc's
 * {@code struct sigaction}); elsewhere it runs the call as it is. Preloading the JDK's libjsig.so
 * is the other cure and composes with this one: under it a driver's handler is only chained.
 */
public final class NativeSignals {
    /** glibc's struct sigaction is 152 bytes on x86_64 and aarch64; room to spare. */
    private static final long SIGACTION_BYTES = 256;
    /*
     * The fields the kernel keeps: handler, the first 64 signals of the mask, flags. glibc copies
     * its whole 128-byte mask out of a stack buffer the kernel filled 8 bytes of, so the rest of
     * the mask is noise and a byte comparison of the struct would see every signal "changed".
     */
    private static final long HANDLER_OFFSET = 0;
    private static final long MASK_OFFSET = 8;
    private static final long FLAGS_OFFSET = 136;
    /** glibc sets SA_RESTORER on every disposition it installs, so a default one put back gains it. */
    private static final int SA_RESTORER = 0x04000000;
    /** Classic signals; SIGKILL and SIGSTOP cannot be caught and are skipped. */
    private static final int LAST_SIGNAL = 31;
    private static final int SIGKILL = 9;
    private static final int SIGSTOP = 19;

    private static final Optional<MethodHandle> SIGACTION = lookup();

    private NativeSignals() {}

    /** Whether this platform's dispositions can be read and restored here. */
    public static boolean supported() {
        return SIGACTION.isPresent();
    }

    /** Serialises {@link #preserving}: two at once could each put back the other's snapshot, LLVM's handlers included. */
    private static final Object LOCK = new Object();

    /**
     * Runs action, then restores every signal disposition that changed while it ran. One at a time
     * in the JVM (a second caller waits; calls nest).
     */
    public static <T> T preserving(Supplier<T> action) {
        if (SIGACTION.isEmpty()) return action.get();
        synchronized (LOCK) {
            return preservingAlone(action);
        }
    }

    private static <T> T preservingAlone(Supplier<T> action) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment[] before = snapshot(arena);
            try {
                return action.get();
            } finally {
                restoreChanged(before, arena);
            }
        }
    }

    /** {@link #preserving(Supplier)} for an action without a result. */
    public static void preserving(Runnable action) {
        preserving(() -> {
            action.run();
            return null;
        });
    }

    /**
     * The signals whose dispositions differ from the snapshot, by number. For tests and diagnosis:
     * {@code snapshot} from {@link #snapshot(Arena)}.
     */
    public static List<Integer> changedSince(MemorySegment[] snapshot, Arena arena) {
        List<Integer> changed = new ArrayList<>();
        MemorySegment now = arena.allocate(SIGACTION_BYTES, 16);
        for (int sig = 1; sig <= LAST_SIGNAL; sig++) {
            if (snapshot[sig] == null) continue;
            now.fill((byte) 0);
            read(sig, now);
            if (!sameDisposition(now, snapshot[sig])) changed.add(sig);
        }
        return changed;
    }

    /** Every catchable signal's disposition, indexed by signal number (0 and uncatchable ones null). */
    public static MemorySegment[] snapshot(Arena arena) {
        MemorySegment[] actions = new MemorySegment[LAST_SIGNAL + 1];
        if (SIGACTION.isEmpty()) return actions;
        for (int sig = 1; sig <= LAST_SIGNAL; sig++) {
            if (sig == SIGKILL || sig == SIGSTOP) continue;
            actions[sig] = arena.allocate(SIGACTION_BYTES, 16);
            read(sig, actions[sig]);
        }
        return actions;
    }

    /** Sets one signal's disposition from a snapshot entry (or one a test made). */
    public static void install(int sig, MemorySegment action) {
        call(sig, action, MemorySegment.NULL);
    }

    private static boolean sameDisposition(MemorySegment a, MemorySegment b) {
        return a.get(ValueLayout.JAVA_LONG_UNALIGNED, HANDLER_OFFSET) == b.get(ValueLayout.JAVA_LONG_UNALIGNED, HANDLER_OFFSET)
                && a.get(ValueLayout.JAVA_LONG_UNALIGNED, MASK_OFFSET) == b.get(ValueLayout.JAVA_LONG_UNALIGNED, MASK_OFFSET)
                && (a.get(ValueLayout.JAVA_INT_UNALIGNED, FLAGS_OFFSET) & ~SA_RESTORER)
                        == (b.get(ValueLayout.JAVA_INT_UNALIGNED, FLAGS_OFFSET) & ~SA_RESTORER);
    }

    private static void restoreChanged(MemorySegment[] before, Arena arena) {
        for (int sig : changedSince(before, arena)) install(sig, before[sig]);
    }

    private static void read(int sig, MemorySegment into) {
        call(sig, MemorySegment.NULL, into);
    }

    private static void call(int sig, MemorySegment action, MemorySegment old) {
        int rc;
        try {
            rc = (int) SIGACTION.orElseThrow().invokeExact(sig, action, old);
        } catch (Throwable t) {
            throw new IllegalStateException("sigaction(" + sig + ") failed: " + t, t);
        }
        if (rc != 0) throw new IllegalStateException("sigaction(" + sig + ") returned " + rc);
    }

    private static Optional<MethodHandle> lookup() {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")) return Optional.empty();
        Linker linker = Linker.nativeLinker();
        return linker.defaultLookup().find("sigaction").map(address -> linker.downcallHandle(address,
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS)));
    }
}
