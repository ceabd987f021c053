package dev.tandem.runtime.profile;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * Whether the JIT has gone quiet: no compilation finished since the last look, and none is running
 * or queued. Warming up by a fixed count or time is not enough on a loaded machine, where the
 * compiler threads get a small share of the cores: after 4000 decode steps the embedded model's
 * silu_mul and rmsnorm (Vector API code, ~100x slower before C2) still ran interpreted. A warm-up
 * runs until a whole round compiles nothing.
 *
 * <p>"Nothing finished" alone said quiet while C2 was still busy with a long compile (a Vector API
 * kernel takes seconds of a starved compiler thread): a run of the embedded model at load 12 ended
 * its warm-up with rmsnorm, silu_mul and add still C1 code (tier 3) and C2 compiles queued. So the
 * compile queues are read too (the {@code Compiler.queue} diagnostic command, as {@code jcmd} prints it).
 */
public final class JitQuiet {
    private final CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
    private long seen;

    public JitQuiet() {
        seen = total();
    }

    /** True when no compilation finished since the last call and none is running or queued (or this JVM cannot tell). */
    public boolean quiet() {
        long now = total();
        boolean quiet = now == seen;
        seen = now;
        return quiet && queuesEmpty();
    }

    private long total() {
        return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : 0;
    }

    /** Whether no method is being compiled or waits to be; true when the JVM does not say. */
    static boolean queuesEmpty() {
        try {
            MBeanServer server = ManagementFactory.getPlatformMBeanServer();
            Object text = server.invoke(new ObjectName("com.sun.management:type=DiagnosticCommand"), "compilerQueue",
                    new Object[] {null}, new String[] {String[].class.getName()});
            return text instanceof String s ? idle(s) : true;
        } catch (JMException | RuntimeException e) {
            return true; // no diagnostic commands here: the finished-compilations check alone decides
        }
    }

    /**
     * Whether Compiler.queue's text shows nothing compiling and every queue empty: a line after
     * "Current compiles:" and before the first queue names a compile; a queue's first line is
     * "Empty" when it is.
     */
    static boolean idle(String compilerQueue) {
        String[] lines = compilerQueue.split("\\R");
        boolean inCurrent = false, afterQueueHeader = false;
        for (String raw : lines) {
            String line = raw.strip();
            if (line.startsWith("Current compiles:")) {
                inCurrent = true;
            } else if (line.endsWith("compile queue:")) {
                inCurrent = false;
                afterQueueHeader = true;
            } else if (line.isEmpty()) {
                continue;
            } else if (inCurrent) {
                return false;
            } else if (afterQueueHeader) {
                if (!line.equals("Empty")) {
                    return false;
                }
                afterQueueHeader = false;
            }
        }
        return true;
    }
}
