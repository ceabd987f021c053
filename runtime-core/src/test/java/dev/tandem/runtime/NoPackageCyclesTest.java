package dev.tandem.runtime;

import dev.tandem.conformance.PackageCycles;
import dev.tandem.kernels.Ops;
import org.junit.jupiter.api.Test;

/** The brief: no package cycles. The facade here depends on its subpackages, never the reverse. */
class NoPackageCyclesTest {
    @Test
    void runtimeCorePackagesAreAcyclic() {
        PackageCycles.assertAcyclic(Tandem.class);
    }

    @Test
    void kernelsPackagesAreAcyclic() {
        // kernels has no test jar to share this check with; its classes are on this module's path.
        PackageCycles.assertAcyclic(Ops.class);
    }
}
