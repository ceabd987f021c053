package dev.tandem.factory;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class FacilityTest {
    @Test
    void unitsTakeWholeNodesOrAShareOfOne() {
        assertEquals(1, Facility.nodes(8, 8));
        assertEquals(2, Facility.nodes(9, 8));
        assertEquals(29, Facility.nodes(232, 8));
        assertEquals(0.5, Facility.nodes(4, 8));
        assertEquals(0.5, Facility.nodes(3, 8), "three devices of eight: two replicas per node, two devices idle");
        assertEquals(0.125, Facility.nodes(1, 8));
    }

    @Test
    void scalingAddsHostsNetworkAndPue() {
        Facility f = new Facility(1.25, 4000, 1000, 500);
        OperatingPoint p = new OperatingPoint(4, 100, 400, List.of(new OperatingPoint.DeviceCount("rubin", false, 8, 1800, 8),
                new OperatingPoint.DeviceCount("lp30", true, 232, 300, 8)), "t");
        SitePoint s = f.scale(new Configuration(Configuration.Kind.AFD, "rubin", "lp30"), p);
        assertEquals(1.25 * (8 * 1800 + 4000 + 500), s.gpuWatts(), 1e-9);
        assertEquals(1.25 * 29 * (8 * 300 + 1000 + 500), s.lpuWatts(), 1e-9);
        assertEquals(400 / s.watts() * 1e6, s.tokensPerSPerMW(), 1e-9);
        assertEquals(400 / s.watts(), s.tokensPerJoule(), 1e-12);
    }

    @Test
    void badParametersAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new Facility(0.9, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new Facility(1.2, -1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new Facility(Double.NaN, 0, 0, 0));
    }
}
