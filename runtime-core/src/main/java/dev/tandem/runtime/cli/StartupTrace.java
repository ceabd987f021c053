package dev.tandem.runtime.cli;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where a cold CLI run spends its time before the first token: with {@code -Dtandem.startupTrace=true}
 * the commands mark their phases and print one line, e.g.
 * {@code startup: jvm=61 command=+90.1/40.0/45.2/80 mapped=+130.4/120.3/121.0/150 ...}: per phase the
 * wall milliseconds since the previous mark, then the CPU milliseconds used in it by the calling
 * thread, by the Java threads alive at its end (pool workers included) and by the whole process (the JIT compiler and
 * GC threads too; the OS counts it in 10 ms steps). The CPU figures hold up on a
 * loaded machine, where wall time mostly measures waiting for a core. {@code jvm} is the JVM's own
 * start-up (its start to the first mark). Off by default: it then costs one static read per mark and
 * loads no management classes.
 */
final class StartupTrace {
    private StartupTrace() {}

    static final String PROPERTY = "tandem.startupTrace";

    private static final boolean ON = Boolean.getBoolean(PROPERTY);
    private static final List<Mark> MARKS = new ArrayList<>();

    private record Mark(String name, long wallNanos, long threadCpuNanos, long javaCpuNanos, long processCpuNanos, long uptimeMillis) {}

    /** Each live Java thread's CPU nanoseconds at the last mark, so a phase counts only what threads used in it. */
    private static final Map<Long, Long> LAST_CPU = new HashMap<>();

    static boolean on() {
        return ON;
    }

    /** Records the end of a phase (no-op unless tracing is on). */
    static void mark(String name) {
        if (!ON) {
            return;
        }
        long wall = System.nanoTime();
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        var threads = ManagementFactory.getThreadMXBean();
        long self = Thread.currentThread().threadId();
        long thread = 0;
        synchronized (MARKS) {
            long java = 0; // CPU of the phase since the last mark, summed over the threads alive now
            for (long id : threads.getAllThreadIds()) {
                long cpu = threads.getThreadCpuTime(id);
                if (id == self) {
                    thread = cpu; // the same reading as in the sum, so the caller's share never exceeds it
                }
                if (cpu >= 0) {
                    Long before = LAST_CPU.put(id, cpu);
                    java += cpu - (before == null ? 0 : before);
                }
            }
            MARKS.add(new Mark(name, wall, thread, java, os.getProcessCpuTime(), ManagementFactory.getRuntimeMXBean().getUptime()));
        }
    }

    /** The line described above, or null when tracing is off or nothing was marked. */
    static String line() {
        synchronized (MARKS) {
            if (!ON || MARKS.isEmpty()) {
                return null;
            }
            StringBuilder sb = new StringBuilder("startup:");
            Mark first = MARKS.getFirst();
            // The JVM's uptime at the first mark (main's start): its own start-up, before any Tandem code.
            sb.append(String.format(Locale.ROOT, " jvm=%d", first.uptimeMillis()));
            Mark prev = first;
            for (Mark m : MARKS.subList(1, MARKS.size())) {
                sb.append(String.format(Locale.ROOT, " %s=+%.1f/%.1f/%.1f/%.0f", m.name(), (m.wallNanos() - prev.wallNanos()) / 1e6,
                        (m.threadCpuNanos() - prev.threadCpuNanos()) / 1e6, m.javaCpuNanos() / 1e6,
                        (m.processCpuNanos() - prev.processCpuNanos()) / 1e6));
                prev = m;
            }
            return sb.toString();
        }
    }
}
