package dev.tandem.runtime.profile;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;

/**
 * Whether the JIT has gone quiet: no compilation finished since the last look. Warming up by a fixed
 * count or time is not enough on a loaded machine, where the compiler threads get a small share of
 * the cores: after 4000 decode steps the embedded model's silu_mul and rmsnorm (Vector API code,
 * ~100x slower before C2) still ran interpreted. A warm-up runs until a whole round compiles nothing.
 */
public final class JitQuiet {
    private final CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
    private long seen;

    public JitQuiet() {
        seen = total();
    }

    /** True when no compilation finished since the last call (or this JVM cannot tell). */
    public boolean quiet() {
        long now = total();
        boolean quiet = now == seen;
        seen = now;
        return quiet;
    }

    private long total() {
        return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : 0;
    }
}
