package dev.tandem.runtime.device;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.Tandem;
import dev.tandem.runtime.model.LlamaConfig;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DevicesTest {

    @Test
    void discoversBackendsThroughServiceLoaderInPriorityOrder() {
        List<String> names = Devices.backends().stream().map(DeviceBackend::name).toList();
        assertTrue(names.containsAll(List.of("cpu", "null", "scalar-test")), names.toString());
        List<Integer> priorities = Devices.backends().stream().map(DeviceBackend::priority).toList();
        for (int i = 1; i < priorities.size(); i++) {
            assertTrue(priorities.get(i - 1) >= priorities.get(i), priorities.toString());
        }
    }

    @Test
    void automaticChoiceNeverPicksTheNullOrTestDevice() {
        try (Device d = Devices.open(null)) {
            assertTrue(d.spec().kind() != null);
            assertTrue(!d.spec().name().contains("null") && !d.spec().name().contains("scalar test"), d.spec().name());
        }
    }

    @Test
    void openingABackendProbesNoOtherOne() {
        // A probe may load a driver (PoCL starts LLVM): a run on the host CPU must not pay for it.
        int before = BrokenTestBackend.PROBES.get();
        try (Device d = Devices.open("cpu")) {
            assertTrue(d.spec().name().contains("host"), d.spec().name());
        }
        try (Device d = Devices.open(null)) {
            assertTrue(d.spec().kind() != null);
        }
        assertEquals(before, BrokenTestBackend.PROBES.get(), "the broken test backend was probed");
        assertThrows(DeviceUnavailableException.class, () -> Devices.open("broken-test"));
        assertEquals(before + 1, BrokenTestBackend.PROBES.get(), "opening it by name probes it once");
    }

    @Test
    void aNamedBackendWhoseProbeSaysNoIsRefusedWithItsReason() {
        BrokenTestBackend.missing = true;
        try {
            DeviceUnavailableException e = assertThrows(DeviceUnavailableException.class, () -> Devices.open("Broken-Test"));
            assertEquals("device 'broken-test' is unavailable: test driver not installed", e.getMessage());
        } finally {
            BrokenTestBackend.missing = false;
        }
    }

    @Test
    void unknownBackendNamesEveryRegisteredOne() {
        // UnknownDeviceException since issue 10: a name no backend has is a usage error, not an unavailable device.
        UnknownDeviceException e = assertThrows(UnknownDeviceException.class, () -> Devices.open("tpu"));
        assertTrue(e.getMessage().contains("tpu") && e.getMessage().contains("cpu") && e.getMessage().contains("null"), e.getMessage());
    }

    @Test
    void forcePropertySelectsABackend() {
        System.setProperty(Devices.FORCE_PROPERTY, "scalar-test");
        try (Device d = Devices.open(null)) {
            assertEquals("scalar test device", d.spec().name());
        } finally {
            System.clearProperty(Devices.FORCE_PROPERTY);
        }
    }

    @Test
    void nullDeviceAccountsMemoryWithoutComputing() {
        NullDevice d = new NullDevice(NullBackend.defaultSpec());
        DeviceBuffer b = d.allocate(1000);
        assertEquals(4000, d.allocatedBytes());
        b.close();
        b.close();
        assertEquals(0, d.allocatedBytes());
        assertThrows(DeviceMemoryException.class, () -> d.allocate(NullBackend.defaultSpec().memoryBytes()));
        assertThrows(DeviceUnavailableException.class, () -> d.read(d.allocate(1), 0, new float[1], 0, 1));
    }

    @Test
    void aModelLargerThanTheDeviceFailsBeforeAnyUpload() {
        LlamaConfig c = dev.tandem.runtime.model.SyntheticModel.CONFIG;
        DeviceSpec tiny = new DeviceSpec("tiny", DeviceKind.GPU, 1L << 20, 1e9, java.util.Map.of(WeightFormat.F32, 1e9), 1, 0, java.util.Map.of());
        NullDevice d = new NullDevice(tiny);
        try (Model m = Model.synthetic()) {
            DeviceMemoryException e = assertThrows(DeviceMemoryException.class, () -> Tandem.open(m, d, c.contextLength()));
            assertTrue(e.getMessage().contains("tiny") && e.requestedBytes() > (1L << 20), e.getMessage());
            assertEquals(0, d.allocatedBytes(), "nothing was uploaded");
        }
    }

    @Test
    void aSecondSessionOnADeviceThatRunsOneIsRefusedBeforePlacingAnything() {
        NullDevice d = new NullDevice(NullBackend.defaultSpec());
        assertTrue(!d.allowsConcurrentSessions(), "devices run one session unless they say otherwise");
        try (Model m = Model.synthetic()) {
            try (var first = Tandem.open(m, d, 16)) {
                long held = d.allocatedBytes();
                assertTrue(held > 0, "the first session placed the model");
                DeviceBusyException e = assertThrows(DeviceBusyException.class, () -> Tandem.open(m, d, 16));
                assertTrue(e.getMessage().contains(d.spec().name()) && e.getMessage().length() <= 300, e.getMessage());
                assertEquals(held, d.allocatedBytes(), "the refused session placed nothing");
            }
            assertEquals(0, d.allocatedBytes(), "closing the session freed what it placed");
            try (var next = Tandem.open(m, d, 16)) {
                assertTrue(d.allocatedBytes() > 0, "and released the device for the next session");
            }
        }
    }
}
