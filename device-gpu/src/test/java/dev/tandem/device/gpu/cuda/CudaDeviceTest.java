package dev.tandem.device.gpu.cuda;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.device.gpu.shared.ScalarReference;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceEvent;
import dev.tandem.runtime.device.DeviceKind;
import dev.tandem.runtime.device.DeviceMemoryException;
import dev.tandem.runtime.device.DeviceSpec;
import dev.tandem.runtime.device.DeviceWeights;
import dev.tandem.runtime.device.UnsupportedWeightFormatException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** On a GPU: the spec, memory accounting and limits, driver errors by name, events, close. Skips without one. */
class CudaDeviceTest {
    private static CudaDevice device;

    @BeforeAll
    static void open() { device = CudaTestDevices.openFirst(); }

    @AfterAll
    static void close() { if (device != null) device.close(); }

    @Test
    void specDescribesTheGpu() {
        DeviceSpec spec = device.spec();
        System.out.println("cuda spec: " + spec);
        assertTrue(spec.name().matches(".+ \\(\\d+ SMs, compute \\d+\\.\\d\\)"), spec.name());
        assertEquals(DeviceKind.GPU, spec.kind());
        assertTrue(spec.memoryBytes() > (1L << 30), "memory " + spec.memoryBytes());
        // Any CUDA GPU copies faster than 50 GB/s (read + write); an H200 about 4e12.
        assertTrue(spec.memoryBandwidth() > 5e10, "bandwidth " + spec.memoryBandwidth());
        assertTrue(spec.launchOverheadSeconds() > 0 && spec.launchOverheadSeconds() < 0.1, "launch " + spec.launchOverheadSeconds());
        assertTrue(spec.peakFlops().values().stream().allMatch(f -> f > 1e12));
        assertTrue(spec.links().get(DeviceKind.CPU).bandwidth() > 1e8);
        assertTrue(spec.clockHz() > 1e8);
    }

    @Test
    void absurdAllocationFailsBeforeTheDriverIsAsked() {
        long before = device.allocatedBytes();
        var e = assertThrows(DeviceMemoryException.class, () -> device.allocate(1L << 50));
        assertEquals(1L << 52, e.requestedBytes());
        assertTrue(e.availableBytes() > 0 && e.availableBytes() < (1L << 52));
        assertTrue(e.getMessage().contains(Long.toString(1L << 52)), e.getMessage());
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
        try (DeviceBuffer buffer = device.allocate(256)) {
            CudaBuffer b = (CudaBuffer) buffer;
            // Grid y past 65535 is the driver's to refuse (CudaLaunches refuses it earlier for the ops).
            var e = assertThrows(CudaException.class, () -> device.launch(CudaKernel.ADD, 1, 70_000, b.ptr, b.ptr, 256L));
            assertEquals("CUDA_ERROR_INVALID_VALUE", e.errorName());
            assertTrue(e.getMessage().contains("cuLaunchKernel(add") && e.getMessage().contains("CUDA_ERROR_INVALID_VALUE"),
                    e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> device.launch(CudaKernel.ADD, 1, 1, b.ptr, b.ptr, 256));
            assertThrows(IllegalArgumentException.class, () -> device.copy(buffer, 0, buffer, 10, 50));
            // The device still works after a refused launch.
            float[] ones = new float[256];
            java.util.Arrays.fill(ones, 1f);
            device.write(buffer, 0, ones, 0, 256);
            device.add(buffer, buffer, 256);
            float[] got = new float[256];
            device.read(buffer, 0, got, 0, 256);
            assertEquals(2f, got[255]);
        }
    }

    @Test
    void kQuantsAreRefusedByName() {
        var e = assertThrows(UnsupportedWeightFormatException.class,
                () -> device.upload(WeightMatrix.of(WeightFormat.Q4_K, MemorySegment.ofArray(new byte[144 * 2]), 2, 256)));
        assertEquals(WeightFormat.Q4_K, e.format());
    }

    @Test
    void eventsTimeWhatRunsBetweenThemBeforeAndAfterTheyAreSwept() {
        Random random = new Random(7);
        MemorySegment data = ScalarReference.randomWeights(WeightFormat.F16, 4096, 4096, random, false);
        try (DeviceWeights w = device.upload(WeightMatrix.of(WeightFormat.F16, data, 4096, 4096));
             DeviceBuffer x = device.allocate(4096); DeviceBuffer out = device.allocate(4096)) {
            DeviceEvent before = device.record();
            for (int i = 0; i < 10; i++) device.matmul(w, x, out, 1);
            DeviceEvent after = device.record();
            long live = after.nanosSince(before);
            assertTrue(live > 0 && live < 10_000_000_000L, "10 matvecs took " + live + " ns");
            assertEquals(0, after.nanosSince(after));
            for (int i = 0; i < 600; i++) device.record();  // past the sweep threshold: both get swept
            device.synchronize();
            device.record();
            long swept = after.nanosSince(before);
            assertTrue(Math.abs(swept - live) < 100_000, "live " + live + " ns, through the epoch " + swept + " ns");
            System.out.println("cuda: 10 F16 4096x4096 matvecs in " + live + " ns");
        }
    }

    @Test
    void closeReleasesEverythingAndIsIdempotent() {
        Device own = CudaDevice.open(0);
        DeviceBuffer buffer = own.allocate(10);
        own.close();
        own.close();
        buffer.close();  // after its device: a no-op
        assertThrows(IllegalStateException.class, () -> own.allocate(1));
        assertThrows(IllegalStateException.class, own::synchronize);
    }

    @Test
    void backendOpensEveryDevice() {
        List<Device> devices = new CudaBackend().open();
        try {
            assertFalse(devices.isEmpty());
        } finally {
            devices.forEach(Device::close);
        }
    }
}
