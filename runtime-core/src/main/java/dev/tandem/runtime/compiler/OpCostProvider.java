package dev.tandem.runtime.compiler;

import java.util.OptionalDouble;

/**
 * Exact op costs from a device module that can lower ops to its own programs (the LPU emulator's
 * cycles), found through {@link java.util.ServiceLoader}. When none answers, the compiler uses the
 * roofline on the device's spec and says so in the plan.
 */
public interface OpCostProvider {
    /** Name shown in the plan's cost sources, e.g. "lpu-sim cycles". */
    String name();

    /**
     * Seconds one run of {@code op} takes on {@code tensorParallel} devices of {@code group} working
     * together, or empty when this provider does not model that device.
     */
    OptionalDouble seconds(DeviceGroup group, ModelGraph graph, Op op, int tensorParallel);
}
