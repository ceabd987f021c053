package dev.tandem.device.lpu;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Op;
import dev.tandem.runtime.compiler.OpKind;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.compiler.Pool;
import dev.tandem.runtime.compiler.PoolParser;
import dev.tandem.runtime.compiler.Workload;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceEvent;
import dev.tandem.runtime.device.DeviceFfn;
import dev.tandem.runtime.device.DeviceKind;
import dev.tandem.runtime.device.DeviceOptions;
import dev.tandem.runtime.device.DeviceSpec;
import dev.tandem.runtime.device.Devices;
import dev.tandem.runtime.model.LlamaConfig;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One chip override (link bandwidth, SRAM size, clock) reaches the three things that read chip
 * figures alike: the device the executor opens, the compiler's catalog, and the cost provider.
 */
class OverridesReachEveryConsumerTest {
    static final double CLOCK = 5e8, LINK_BITS = 1e8;
    static final long SRAM = 400_000_000L;
    static final String OVERRIDES = "clockHz=5e8,linkBitsPerSecond=1e8,sramBytes=4e8";
    static final LlamaConfig STORIES = BlockCostExactnessTest.STORIES;

    private static DeviceGroup lp30(String options, int count) {
        Pool p = PoolParser.parse("null,lp30*" + count + (options.isEmpty() ? "" : ":" + options) + ",h100", new Catalog());
        return p.groups().get(1);
    }

    @Test
    void catalogAndDeviceReadTheSameOverriddenChip() {
        DeviceGroup g = lp30(OVERRIDES, 2);
        assertEquals(DeviceOptions.parse(OVERRIDES), g.options());
        DeviceSpec planned = g.spec();
        double linkBytes = ChipConfig.LP30.linksPerPeer() * LINK_BITS / 8;
        assertEquals(CLOCK, planned.clockHz(), "clock");
        assertEquals(SRAM, planned.memoryBytes(), "SRAM per chip");
        assertEquals(linkBytes, planned.links().get(DeviceKind.LPU).bandwidth(), 1e-9, "chip-to-chip bandwidth");
        assertEquals(ChipConfig.LP30.c2cHopLatencyCycles() / CLOCK, planned.links().get(DeviceKind.LPU).latencySeconds(), 1e-15);

        try (Device d = Devices.openPreset("lp30", 2, g.options())) {
            LpuDevice lpu = assertInstanceOf(LpuDevice.class, d);
            assertEquals(CLOCK, lpu.config().clockHz());
            assertEquals(SRAM, lpu.config().sramBytes());
            assertEquals(LINK_BITS, lpu.config().linkBitsPerSecond());
            DeviceSpec opened = d.spec();
            assertEquals(2 * SRAM, opened.memoryBytes(), "two chips");
            assertEquals(planned.clockHz(), opened.clockHz());
            assertEquals(planned.links(), opened.links(), "the device states the links the plan was priced on");
            assertEquals(2 * planned.memoryBandwidth(), opened.memoryBandwidth(), 1e-6 * opened.memoryBandwidth());
        }
    }

    /** The provider's cycles for a tp-2 FFN, and the device's for the same block on the chips opened with the same options. */
    @Test
    void providerPricesTheOverriddenChipsExactly() {
        ModelGraph g = ModelGraph.dense("stories", STORIES, WeightFormat.F32);
        Op ffn = g.ops(Phase.DECODE, new Workload(1, 1, 10)).stream().filter(o -> o.kind() == OpKind.FFN).findFirst().orElseThrow();
        LpuOpCostProvider provider = new LpuOpCostProvider();
        double overridden = provider.seconds(lp30(OVERRIDES, 2), g, ffn, 2).orElseThrow();
        // The ratios below are of the programs' own cycles: without the chips' alignment, a constant that would dilute them.
        String noSync = "chipSyncCycles=0";
        double overriddenNoSync = provider.seconds(lp30(OVERRIDES + "," + noSync, 2), g, ffn, 2).orElseThrow();
        double plain = provider.seconds(lp30(noSync, 2), g, ffn, 2).orElseThrow();
        double clockOnly = provider.seconds(lp30("clockHz=5e8," + noSync, 2), g, ffn, 2).orElseThrow();
        // Half the clock nearly doubles the seconds (links move more bytes per cycle, so cycles drop a little);
        // the slow links add cycles on top.
        assertTrue(clockOnly > 1.9 * plain && clockOnly < 2 * plain, plain + " s at 1 GHz vs " + clockOnly + " s at 500 MHz");
        assertTrue(overriddenNoSync > clockOnly * 1.5, overriddenNoSync + " vs " + clockOnly + ": 1e8 b/s links must cost cycles");
        // A two-chip block pays the alignment once.
        assertEquals(ChipConfig.LP30.chipSyncCycles(), Math.round((overridden - overriddenNoSync) * CLOCK));

        Random r = new Random(7);
        try (Arena arena = Arena.ofShared(); Device d = Devices.openPreset("lp30", 2, DeviceOptions.parse(OVERRIDES))) {
            DeviceFfn block = d.uploadFfn(BlockCostExactnessTest.ffnWeights(arena, STORIES, WeightFormat.F32, r), ModelGraph.PREFILL_CHUNK);
            var x = d.allocate((long) ModelGraph.PREFILL_CHUNK * STORIES.dim());
            DeviceEvent before = d.record();
            block.run(x, 1);
            long measured = d.record().cyclesSince(before).orElseThrow();
            assertEquals(measured, Math.round(overridden * CLOCK), "predicted == emulated on the overridden chips");
            x.close();
            block.close();
        }
    }

    @Test
    void aSmallerSramIsTooSmallForAllThree() {
        String tiny = "sramBytes=100000";
        LlamaConfig wide = new LlamaConfig(256, 688, 1, 8, 8, 512, 512, 1e-5f, 10000f, null);
        ModelGraph g = ModelGraph.dense("wide", wide, WeightFormat.F32);
        Op ffn = g.ops(Phase.DECODE, new Workload(1, 1, 10)).stream().filter(o -> o.kind() == OpKind.FFN).findFirst().orElseThrow();
        LpuOpCostProvider provider = new LpuOpCostProvider();
        assertTrue(provider.seconds(lp30("", 1), g, ffn, 1).isPresent(), "fits a real lp30");
        assertTrue(provider.seconds(lp30(tiny, 1), g, ffn, 1).isEmpty(), "an FFN of 2 MB does not fit 100 kB: roofline");
        assertEquals(100_000L, lp30(tiny, 1).spec().memoryBytes());
        try (Arena arena = Arena.ofShared(); Device d = Devices.openPreset("lp30", 1, DeviceOptions.parse(tiny))) {
            assertThrows(LpuCapacityException.class,
                    () -> d.uploadFfn(BlockCostExactnessTest.ffnWeights(arena, wide, WeightFormat.F32, new Random(1)), 1));
        }
    }

    @Test
    void optionsFollowAColonAndTheirPairsRunToTheNextEntry() {
        Pool p = PoolParser.parse("null,lp30*2:clockHz=5e8,sramBytes=4e8,h100", new Catalog());
        assertEquals(3, p.groups().size());
        DeviceGroup lp30 = p.groups().get(1);
        assertEquals("lp30", lp30.name());
        assertEquals(2, lp30.count());
        assertEquals(Map.of("clockHz", "5e8", "sramBytes", "4e8"), lp30.options().values());
        assertEquals("h100", p.groups().get(2).name());
        assertTrue(p.groups().get(2).options().isEmpty());
        assertEquals("null,lp30*2:clockHz=5e8,sramBytes=4e8,h100", p.toString(), "a pool prints as it parses");
        assertNotEquals(new Catalog().resolve("lp30", 1).spec(), lp30.spec());
    }

    @Test
    void unknownOrBadPresetOptionsAreTypedErrorsNamingThem() {
        var e = assertThrows(dev.tandem.runtime.compiler.PoolSyntaxException.class,
                () -> PoolParser.parse("lp30*2:chips=3", new Catalog()));
        assertTrue(e.getMessage().contains("'chips'") && e.getMessage().contains("sramBytes") && e.getMessage().length() <= 300,
                e.getMessage());
        e = assertThrows(dev.tandem.runtime.compiler.PoolSyntaxException.class, () -> PoolParser.parse("lp30:clockHz=fast", new Catalog()));
        assertTrue(e.getMessage().contains("clockHz=fast"), e.getMessage());
    }
}
