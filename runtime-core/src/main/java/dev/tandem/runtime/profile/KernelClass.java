package dev.tandem.runtime.profile;

/**
 * The classes a present device's decode step is split into, predicted ({@link ProfiledCosts#kernelSeconds})
 * and measured ({@code tandem run}'s kernel timer) alike, so a miss can be traced to the kind of
 * kernel that causes it. Each class is one or more of the device SPI's ops; {@link #FUSED_BLOCK} a
 * block the device runs its own way, timed whole; {@link #BETWEEN} the step's time outside every
 * kernel (the executor's own code and its op markers).
 */
public enum KernelClass {
    MATMUL("matmul"),
    ATTENTION("attention"),
    RMSNORM("rmsnorm"),
    ROPE("rope"),
    /** silu_mul and the residual adds. */
    ELEMENTWISE("silu/add"),
    /** Device-side copies: the KV cache writes, the head's last row. */
    COPY("copy"),
    EMBED("embed"),
    /** Host to device and back: the logits read, KV moves, a device's staging writes. */
    HOST_COPY("host copy"),
    /**
     * An attention or FFN block the device runs its own way (the cpu's FFN: W1 and W3 in one pass over
     * the kernel pool), so its kernels cannot be timed one by one: the block's whole time, predicted
     * as the sum of the kernels the profile rebuilds it from. Before it had a class of its own, the
     * cpu's every FFN showed as "between kernels" (5.1 of a 9.2 ms stories110M step).
     */
    FUSED_BLOCK("fused blocks"),
    /**
     * The executor's own time in a step outside every kernel: its op markers and the calls between
     * kernels, predicted per kernel call and per op from the profile's dispatch and marker points.
     */
    BETWEEN("between kernels");

    private final String label;

    KernelClass(String label) { this.label = label; }

    public String label() { return label; }
}
