package dev.tandem.runtime.profile;

/**
 * The classes a present device's decode step is split into, predicted ({@link ProfiledCosts#kernelSeconds})
 * and measured ({@code tandem run}'s kernel timer) alike, so a miss can be traced to the kind of
 * kernel that causes it. Each class is one or more of the device SPI's ops; {@link #BETWEEN} is
 * the step's time outside every kernel (the executor's own code and its timing markers).
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
    BETWEEN("between kernels");

    private final String label;

    KernelClass(String label) { this.label = label; }

    public String label() { return label; }
}
