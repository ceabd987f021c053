package dev.tandem.server;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.device.DeviceUnavailableException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** serve --pool/--policy: a plan on one present device is served there; any other placement is refused. */
class ServePlacementTest {
    @Test
    void aSingleDevicePlanNamesTheDeviceToServeOn() {
        try (Model m = Model.embedded()) {
            Plan plan = ServePlacement.compile(m, "cpu", "single", 8, m.config().contextLength());
            assertEquals("cpu", ServePlacement.singleDevice(plan));
            Plan auto = ServePlacement.compile(m, "cpu", "auto", 8, m.config().contextLength());
            assertEquals("cpu", ServePlacement.singleDevice(auto));
        }
    }

    @Test
    void splitPlansAreRefused() {
        try (Model m = Model.embedded()) {
            Plan afd = ServePlacement.compile(m, "cpu,lp30*2", "afd", 8, m.config().contextLength());
            DeviceUnavailableException e = assertThrows(DeviceUnavailableException.class, () -> ServePlacement.singleDevice(afd));
            assertTrue(e.getMessage().contains("decode ffn lp30"), e.getMessage());
        }
    }

    @Test
    void deviceBusyTimeIsAMetric() throws Exception {
        try (ServerFixture f = new ServerFixture()) {
            assertEquals(0.0, f.metric("tandem_device_busy_seconds_total"));
            assertEquals(200, f.post("/v1/completions", "{\"prompt\": [1, 5, 9], \"max_tokens\": 4}").statusCode());
            assertTrue(f.metric("tandem_device_busy_seconds_total") > 0);
            assertTrue(f.get("/metrics").body().contains("tandem_device_busy_seconds_total{device=\""), "labelled by device");
        }
    }
}
