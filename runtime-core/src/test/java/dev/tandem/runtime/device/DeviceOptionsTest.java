package dev.tandem.runtime.device;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DeviceOptionsTest {
    @Test
    void aRequestIsANameAndOrderedOptions() {
        DeviceRequest r = DeviceRequest.parse("LPU:preset=lp30, chips=4,clockHz=1.1e9");
        assertEquals("lpu", r.name());
        assertEquals(Map.of("preset", "lp30", "chips", "4", "clockHz", "1.1e9"), r.options().values());
        assertEquals(List.of("preset", "chips", "clockHz"), List.copyOf(r.options().keys()));
        assertEquals("lpu:preset=lp30,chips=4,clockHz=1.1e9", r.toString());
        assertTrue(DeviceRequest.parse("cpu").options().isEmpty());
    }

    @Test
    void malformedAndConflictingOptionsAreTypedErrorsNamingThem() {
        assertTrue(assertThrows(DeviceOptionException.class, () -> DeviceOptions.parse("chips")).getMessage().contains("'chips'"));
        assertTrue(assertThrows(DeviceOptionException.class, () -> DeviceOptions.parse("=3")).getMessage().contains("'=3'"));
        DeviceOptionException twice = assertThrows(DeviceOptionException.class, () -> DeviceOptions.parse("chips=2,chips=3"));
        assertTrue(twice.getMessage().contains("chips") && twice.getMessage().contains("2") && twice.getMessage().contains("3"),
                twice.getMessage());
        assertEquals("chips=2", DeviceOptions.parse("chips=2,chips=2").toString(), "the same value twice is one option");
    }

    @Test
    void unknownKeysAreRefusedByName() {
        DeviceOptions o = DeviceOptions.parse("chips=2,colour=red");
        DeviceOptionException e = assertThrows(DeviceOptionException.class, () -> o.requireKnown("lpu", List.of("chips", "preset")));
        assertTrue(e.getMessage().contains("'colour'") && e.getMessage().contains("lpu") && e.getMessage().contains("preset"), e.getMessage());
        o.with("preset", "lp30").keys().forEach(k -> assertFalse(k.isBlank()));
    }

    @Test
    void aBackendWithoutOptionsRefusesAnyAtOpen() {
        DeviceOptionException e = assertThrows(DeviceOptionException.class,
                () -> new NullBackend().open(DeviceOptions.parse("chips=2")));
        assertTrue(e.getMessage().contains("'chips'") && e.getMessage().contains("null"), e.getMessage());
        try (Device d = Devices.open("null", DeviceOptions.none())) {
            assertEquals("null device", d.spec().name());
        }
    }
}
