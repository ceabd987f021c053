package dev.tandem.device.gpu.cuda;

import dev.tandem.runtime.device.Availability;
import org.junit.jupiter.api.Assumptions;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Opens the first CUDA device for a test class. Without a driver or GPU the tests SKIP, printing the
 * probe's reason; -Dtandem.cuda.required=true (the GPU machine's run) makes that a failure instead.
 */
final class CudaTestDevices {
    static final String REQUIRED_PROPERTY = "tandem.cuda.required";

    private CudaTestDevices() {}

    static void requireCuda() {
        Availability availability = new CudaBackend().probe();
        if (availability.available()) return;
        String reason = "CUDA unavailable: " + availability.reason();
        if (Boolean.getBoolean(REQUIRED_PROPERTY)) fail(reason + " (-D" + REQUIRED_PROPERTY + "=true)");
        System.out.println(reason + " (skipped)");
        Assumptions.abort(reason);
    }

    static CudaDevice openFirst() {
        requireCuda();
        return CudaDevice.open(0);
    }
}
