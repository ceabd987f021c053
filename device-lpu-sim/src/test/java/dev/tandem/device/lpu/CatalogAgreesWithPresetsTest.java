package dev.tandem.device.lpu;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.device.DeviceKind;
import dev.tandem.runtime.device.DeviceSpec;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The compiler's catalog reads the LPU presets from this module's backend (through the SPI), so a
 * changed preset reaches plans; and runtime-core's own tests, which cannot see this module, plan on
 * a test double of the presets that must keep the same figures.
 */
class CatalogAgreesWithPresetsTest {
    @ParameterizedTest
    @ValueSource(strings = {"groqchip1", "lp30"})
    void catalogSpecMatchesChipConfig(String name) {
        ChipConfig chip = ChipConfig.preset(name);
        DeviceSpec spec = new Catalog().resolve(name, 1).spec();
        assertEquals(DeviceKind.LPU, spec.kind());
        assertEquals(chip.sramBytes(), spec.memoryBytes(), name + " SRAM");
        assertEquals(chip.memBytesPerCycle() * chip.clockHz(), spec.memoryBandwidth(), 1e-6 * spec.memoryBandwidth(), name + " SRAM bandwidth");
        assertEquals(chip.peakFlops(WeightFormat.Q8_0), spec.peakFlops().get(WeightFormat.Q8_0), 1e-6 * spec.peakFlops().get(WeightFormat.Q8_0), name + " int8 peak");
        assertEquals(chip.peakFlops(WeightFormat.F16), spec.peakFlops().get(WeightFormat.F16), 1e-6 * spec.peakFlops().get(WeightFormat.F16), name + " fp16 peak");
        assertEquals(chip.powerWatts(), spec.boardPowerWatts(), 1e-9, name + " power");
        assertEquals(chip.clockHz(), spec.clockHz(), name + " clock: predicted and emulated cycles compare exactly only in one clock");
        assertEquals(chip.c2cHopLatencyCycles() / chip.clockHz(), spec.links().get(DeviceKind.LPU).latencySeconds(), 1e-12, name + " hop latency");
    }

    @ParameterizedTest
    @ValueSource(strings = {"groqchip1", "lp30"})
    void catalogSpecIsTheBackendsAndTheTestDoubleAgrees(String name) {
        DeviceSpec published = new LpuBackend().presets().stream().filter(p -> p.name().equals(name)).findFirst().orElseThrow().spec();
        assertEquals(published, new Catalog().resolve(name, 1).spec(), "the catalog's spec is the backend's");
        DeviceSpec doubled = new dev.tandem.conformance.PresetTestBackend().presets().stream()
                .filter(p -> p.name().equals(name)).findFirst().orElseThrow().spec();
        assertEquals(published.memoryBytes(), doubled.memoryBytes());
        assertEquals(published.memoryBandwidth(), doubled.memoryBandwidth(), 1e-6 * published.memoryBandwidth());
        assertEquals(published.clockHz(), doubled.clockHz());
        assertEquals(published.boardPowerWatts(), doubled.boardPowerWatts(), 1e-9);
        for (var f : published.peakFlops().keySet()) {
            assertEquals(published.peakFlops().get(f), doubled.peakFlops().get(f), 1e-6 * published.peakFlops().get(f), f.toString());
        }
        for (var k : published.links().keySet()) {
            assertEquals(published.links().get(k).bandwidth(), doubled.links().get(k).bandwidth(), 1e-6 * published.links().get(k).bandwidth(), k + " link");
            assertEquals(published.links().get(k).latencySeconds(), doubled.links().get(k).latencySeconds(), 1e-15, k + " latency");
        }
        assertEquals(published.links().keySet(), doubled.links().keySet());
    }
}
