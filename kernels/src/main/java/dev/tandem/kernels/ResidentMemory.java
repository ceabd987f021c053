package dev.tandem.kernels;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Native copies of mapped weights, for kernels that stream them faster from anonymous memory than
 * from the file's page-cache pages (F16's batch-1 dot: 26 against 31-39 GB/s on two threads, see
 * {@link F16Matrix}; BF16's likewise, {@link BF16Matrix}). Each copy is 64-byte aligned and owned by an automatic arena, so it is freed
 * with the matrix that holds it. All copies together stay within a budget (tandem.residentBytes:
 * bytes, or auto: a quarter of the machine's memory, the JVM's default heap share; 0 for none), since
 * unlike the page cache the kernel cannot reclaim them; past it the kernels keep reading the mapping.
 */
final class ResidentMemory {
    private ResidentMemory() {}

    private static final long BUDGET = readBudget();
    private static final AtomicLong USED = new AtomicLong();

    /** A copy of segment in native memory of its own, or null when it would pass the budget or the allocation fails. */
    static MemorySegment copyOf(MemorySegment segment) {
        long bytes = segment.byteSize();
        if (!reserve(bytes, BUDGET, USED)) {
            return null;
        }
        try {
            MemorySegment copy = Arena.ofAuto().allocate(bytes, 64);
            copy.copyFrom(segment);
            return copy;
        } catch (OutOfMemoryError e) { // the native allocation failed: the mapping serves as before
            USED.addAndGet(-bytes);
            return null;
        }
    }

    /** Adds bytes to used unless that would pass budget; whether it did. */
    static boolean reserve(long bytes, long budget, AtomicLong used) {
        long before;
        do {
            before = used.get();
            if (bytes > budget - before) {
                return false;
            }
        } while (!used.compareAndSet(before, before + bytes));
        return true;
    }

    /**
     * A matrix's copy, made by the first caller of {@link #get} (threads arriving meanwhile wait for
     * it) and never retried once refused, so a matrix over the budget costs one check per call.
     */
    static final class Lazy {
        private static final MemorySegment REFUSED = MemorySegment.NULL;
        private volatile MemorySegment copy;

        /** The copy of data, or null where copies are off (enabled false) or it did not fit. */
        MemorySegment get(MemorySegment data, boolean enabled) {
            MemorySegment c = copy;
            if (c == null) {
                synchronized (this) {
                    c = copy;
                    if (c == null) {
                        c = enabled ? copyOf(data) : null;
                        copy = c = c == null ? REFUSED : c;
                    }
                }
            }
            return c == REFUSED ? null : c;
        }
    }

    /** Bytes of copies made so far (tests, reports). */
    static long used() {
        return USED.get();
    }

    static long budget() {
        return BUDGET;
    }

    private static long readBudget() {
        return readBudget(System.getProperty("tandem.residentBytes"), memTotal());
    }

    /** auto (or unset): a quarter of memTotal; a byte count: itself; anything else: auto, with a warning. */
    static long readBudget(String value, long memTotal) {
        long auto = memTotal / 4;
        if (value == null || value.trim().equals("auto")) {
            return auto;
        }
        try {
            long n = Long.parseLong(value.trim());
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // falls through to the warning
        }
        System.err.println("tandem: ignoring tandem.residentBytes=" + value + " (not a byte count); using auto, " + auto);
        return auto;
    }

    /** MemTotal from /proc/meminfo in bytes; 0 (no copies) where there is no such file or it cannot be read. */
    private static long memTotal() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    String[] f = line.trim().split("\\s+");
                    return Long.parseLong(f[1]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) { // not Linux, or an unexpected format: no budget
            return 0;
        }
        return 0;
    }
}
