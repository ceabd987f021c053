package dev.tandem.runtime.device;

import dev.tandem.conformance.DeviceConformanceSuite;

/** The ~100-line test backend, found by name through ServiceLoader, passes the whole suite. */
class ScalarTestBackendConformanceTest extends DeviceConformanceSuite {
    @Override
    protected Device openDevice() {
        return Devices.open("scalar-test");
    }
}
