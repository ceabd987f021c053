package dev.tandem.device.gpu.opencl;

import dev.tandem.runtime.device.Availability;
import org.junit.jupiter.api.Assumptions;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Opens the first OpenCL device for a test class. CI installs PoCL, so a missing platform FAILS
 * with the probe's reason; only -Dtandem.opencl.optional=true (developers without OpenCL) skips.
 */
final class OpenClTestDevices {
    static final String OPTIONAL_PROPERTY = "tandem.opencl.optional";

    private OpenClTestDevices() {}

    static void requireOpenCl() {
        Availability availability = new OpenClBackend().probe();
        if (availability.available()) return;
        String reason = "OpenCL unavailable: " + availability.reason();
        if (Boolean.getBoolean(OPTIONAL_PROPERTY)) Assumptions.abort(reason + " (skipped: -D" + OPTIONAL_PROPERTY + "=true)");
        fail(reason + " (set -D" + OPTIONAL_PROPERTY + "=true to skip these tests on a machine without OpenCL)");
    }

    static long firstDeviceHandle() {
        requireOpenCl();
        return OpenClBackend.allDevices().getFirst();
    }

    static OpenClDevice openFirst() { return OpenClDevice.open(firstDeviceHandle()); }
}
