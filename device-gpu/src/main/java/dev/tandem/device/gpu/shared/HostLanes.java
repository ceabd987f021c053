package dev.tandem.device.gpu.shared;

import dev.tandem.kernels.KernelConfig;

/**
 * The lanes of the host's float vectors: the shape of its reductions (Vec.dot), which the GPU
 * kernels for rmsnorm, attention and silu_mul follow to give the host's bits. 1 when the host runs
 * its scalar ops (tandem.vectorBits=0), whose sums are sequential and which a device then follows
 * only approximately.
 */
public final class HostLanes {
    private HostLanes() {}

    public static int floats() { return Math.max(1, KernelConfig.vectorBits() / Float.SIZE); }
}
