package dev.tandem.device.gpu.opencl;

import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceBackend;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceKind;
import dev.tandem.runtime.device.DeviceMemoryException;
import dev.tandem.runtime.device.DeviceSpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.ServiceLoader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The backend and device life cycle: discovery, spec, memory limits, errors, close. */
class OpenClDeviceTest {
    private static OpenClDevice device;

    @BeforeAll
    static void open() { device = OpenClTestDevices.openFirst(); }

    @AfterAll
    static void close() { if (device != null) device.close(); }

    @Test
    void serviceLoaderFindsTheBackend() {
        List<DeviceBackend> backends = ServiceLoader.load(DeviceBackend.class).stream().map(ServiceLoader.Provider::get).toList();
        DeviceBackend opencl = backends.stream().filter(b -> b.name().equals("opencl")).findFirst().orElseThrow();
        assertEquals(10, opencl.priority());
        assertTrue(opencl.probe().available(), opencl.probe().reason());
    }

    @Test
    void specDescribesTheDevice() {
        DeviceSpec spec = device.spec();
        System.out.println("opencl spec: " + spec);
        assertFalse(spec.name().isBlank());
        if (!OpenClBackend.isGpu(OpenClBackend.allDevices().getFirst())) assertEquals(DeviceKind.CPU, spec.kind());
        assertTrue(spec.memoryBytes() > 0);
        assertTrue(spec.memoryBandwidth() > 1e8, "bandwidth " + spec.memoryBandwidth());
        assertTrue(spec.launchOverheadSeconds() > 0 && spec.launchOverheadSeconds() < 0.1, "launch " + spec.launchOverheadSeconds());
        assertTrue(spec.peakFlops().values().stream().allMatch(f -> f > 1e9));
        assertTrue(spec.links().get(DeviceKind.CPU).bandwidth() > 0);
    }

    @Test
    void absurdAllocationFailsBeforeTheDriverIsAsked() {
        long before = device.allocatedBytes();
        var e = assertThrows(DeviceMemoryException.class, () -> device.allocate(1L << 50));
        assertEquals(1L << 52, e.requestedBytes());
        assertTrue(e.availableBytes() > 0 && e.availableBytes() < (1L << 52));
        assertTrue(e.getMessage().contains(Long.toString(1L << 52)) && e.getMessage().contains(Long.toString(e.availableBytes())),
                e.getMessage());
        assertEquals(before, device.allocatedBytes());
    }

    @Test
    void memoryIsCountedAndReturned() {
        long before = device.allocatedBytes();
        DeviceBuffer buffer = device.allocate(1000);
        assertEquals(before + 4000, device.allocatedBytes());
        buffer.close();
        buffer.close();  // twice is harmless
        assertEquals(before, device.allocatedBytes());
        assertThrows(IllegalArgumentException.class, () -> device.read(buffer, 0, new float[1], 0, 1));
    }

    @Test
    void driverErrorsCarryTheirName() {
        try (DeviceBuffer buffer = device.allocate(100)) {
            // Overlapping ranges of one buffer are a driver error, not one we check ourselves.
            var e = assertThrows(OpenClException.class, () -> device.copy(buffer, 0, buffer, 10, 50));
            assertEquals("CL_MEM_COPY_OVERLAP", e.errorName());
            assertTrue(e.getMessage().contains("clEnqueueCopyBuffer") && e.getMessage().contains("CL_MEM_COPY_OVERLAP"),
                    e.getMessage());
        }
        assertEquals("CL_OUT_OF_RESOURCES", OpenClException.errorName(-5));
        assertEquals("CL_INVALID_VALUE", new OpenClException("clFoo", -30).errorName());
        assertEquals("CL_UNKNOWN_ERROR_-9999", OpenClException.errorName(-9999));
    }

    @Test
    void brokenKernelSourceReportsTheBuildLog() {
        String broken = "__kernel void matmul_f32(__global float* x) { x[0] = undeclared_symbol_xyz; }";
        var e = assertThrows(OpenClBuildException.class,
                () -> OpenClDevice.open(OpenClTestDevices.firstDeviceHandle(), broken).close());
        assertEquals("CL_BUILD_PROGRAM_FAILURE", e.errorName());
        assertTrue(e.buildLog().contains("undeclared_symbol_xyz"), e.buildLog());
        assertTrue(e.getMessage().contains(e.buildLog()));
    }

    @Test
    void closeReleasesEverythingAndIsIdempotent() {
        Device own = OpenClTestDevices.openFirst();
        DeviceBuffer buffer = own.allocate(10);
        own.close();
        own.close();
        buffer.close();  // after its device: a no-op
        assertThrows(IllegalStateException.class, () -> own.allocate(1));
        assertThrows(IllegalStateException.class, own::synchronize);
    }

    @Test
    void backendOpensEveryDevice() {
        List<Device> devices = new OpenClBackend().open();
        try {
            assertFalse(devices.isEmpty());
        } finally {
            devices.forEach(Device::close);
        }
    }
}
