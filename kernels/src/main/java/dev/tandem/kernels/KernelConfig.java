package dev.tandem.kernels;

/**
 * Process-wide kernel settings read once from system properties.
 * tandem.vectorBits: 0 forces the scalar paths; unset means the preferred species size.
 * tandem.threads: worker count for {@link Parallel}; unset means all available processors.
 */
public final class KernelConfig {
    private KernelConfig() {}

    public static int vectorBits() { throw new UnsupportedOperationException("TODO"); }

    public static int threads() { throw new UnsupportedOperationException("TODO"); }
}
