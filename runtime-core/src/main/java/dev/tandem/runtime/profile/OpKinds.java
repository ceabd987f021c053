package dev.tandem.runtime.profile;

import dev.tandem.kernels.WeightFormat;

/** The op kinds a profile times: the names its measurements carry, shared by the calibrator and the model. */
final class OpKinds {
    private OpKinds() {}

    /** An empty op (an add of one float): what every call pays before it does anything. */
    static final String DISPATCH = "dispatch";
    /**
     * One {@link dev.tandem.runtime.device.Device#record} marker: what the executor pays per op for
     * timing it (profiles measured before it have none; their dispatch stands in).
     */
    static final String MARKER = "marker";
    static final String ATTENTION = "attention";
    static final String RMSNORM = "rmsnorm";
    static final String ROPE = "rope";
    static final String SILU = "silu_mul";
    static final String ADD = "add";
    static final String COPY = "copy";
    static final String EMBED = "embed";
    /** Host to device and back: the device's write and read of n floats. */
    static final String WRITE = "write";
    static final String READ = "read";

    /** The ops timed against one size (n floats) and fitted as a + b·n. */
    static final String[] ELEMENTWISE = {RMSNORM, ROPE, SILU, ADD, COPY, EMBED, WRITE, READ};

    /**
     * A matmul of one weight format with its weights hot (one matrix called again and again, in cache
     * where it fits) or cold (a rotation through copies twice the last-level cache, as a model larger
     * than the cache streams its layers).
     */
    static String matmul(WeightFormat f, boolean cold) {
        return "matmul " + f.name() + (cold ? " cold" : " hot");
    }
}
