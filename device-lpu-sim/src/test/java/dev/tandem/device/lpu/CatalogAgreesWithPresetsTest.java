package dev.tandem.device.lpu;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.device.DeviceKind;
import dev.tandem.runtime.device.DeviceSpec;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The compiler's catalog restates the LPU presets (runtime-core cannot see this module), so the two
 * copies are checked against each other here: a changed preset must not leave plans on old figures.
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
}
