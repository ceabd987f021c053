package dev.tandem.runtime.compiler;

import dev.tandem.runtime.device.DeviceKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PoolParserTest {
    private final Catalog catalog = new Catalog();

    @Test
    void parsesNamesCountsAndAddsRepeats() {
        Pool p = PoolParser.parse("h100*8, LP30*64,h100", catalog);
        assertEquals(2, p.groups().size());
        assertEquals("h100", p.groups().get(0).name());
        assertEquals(9, p.groups().get(0).count());
        assertEquals(64, p.groups().get(1).count());
        assertEquals(DeviceKind.LPU, p.groups().get(1).spec().kind());
        assertEquals(DeviceSource.CATALOG, p.groups().get(0).source());
        assertEquals(DeviceSource.EMULATED_LPU, p.groups().get(1).source());
        assertEquals(73, p.deviceCount());
    }

    @Test
    void presentDevicesResolveThroughTheBackends() {
        // The null backend is registered like any other, so this proves the ServiceLoader path.
        Pool p = PoolParser.parse("null*2,groqchip1", catalog);
        assertEquals(DeviceSource.PRESENT, p.groups().getFirst().source());
    }

    @ParameterizedTest
    @ValueSource(strings = {"tpu*4", "h100*0", "h100*x", "h100*-2", "h100,,lp30", "", "*3"})
    void badTokensAreTypedErrorsNamingTheToken(String text) {
        PoolSyntaxException e = assertThrows(PoolSyntaxException.class, () -> PoolParser.parse(text, catalog));
        assertTrue(e.getMessage().contains("'" + e.token() + "'"), e.getMessage());
    }

    @Test
    void unknownNameListsTheKnownOnes() {
        PoolSyntaxException e = assertThrows(PoolSyntaxException.class, () -> PoolParser.parse("h100,tpu*4", catalog));
        assertEquals("tpu*4", e.token());
        assertTrue(e.getMessage().contains("lp30") && e.getMessage().contains("rubin"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"h100:clockHz=1e9", "lp30*2,clockHz=1e9", "lp30:clockHz", "lp30,lp30:clockHz=1e9", "null:chips=2",
            "h100*2147483647,h100"})
    void badOptionsAreTypedErrorsNamingTheEntry(String text) {
        PoolSyntaxException e = assertThrows(PoolSyntaxException.class, () -> PoolParser.parse(text, catalog));
        assertTrue(e.getMessage().contains("'" + e.token() + "'") && text.contains(e.token().split(",")[0]), e.getMessage());
    }
}
