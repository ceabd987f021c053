package dev.tandem.loadgen;

import dev.tandem.conformance.PackageCycles;
import org.junit.jupiter.api.Test;

/** The brief: no package cycles, in this module as in every other. */
class NoPackageCyclesTest {
    @Test
    void packagesAreAcyclic() {
        PackageCycles.assertAcyclic(BenchServeProvider.class);
    }
}
