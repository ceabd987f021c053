package dev.tandem.factory;

import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.ModelShapes;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Today's frontier from the compiler: the steady-state arithmetic and who holds which devices. */
class CompilerFrontierSourceTest {
    static final ModelGraph MODEL = ModelShapes.shape("llama-3-8b");
    static final RequestShape REQUESTS = new RequestShape(512, 256);
    static final CompilerFrontierSource SOURCE = CompilerFrontierSource.installed();

    @Test
    void aGpuAloneSweepsBatchesWithColocatedPrefill() {
        List<OperatingPoint> points = SOURCE.frontier(MODEL, Configuration.gpuOnly("h100"), REQUESTS);
        assertEquals(13, points.size(), "batch 1..4096 all fit once the compiler may add GPUs");
        for (OperatingPoint p : points) {
            // Prefill shares the GPUs: every request's tokens and the unit's tokens come from the same cycle.
            assertEquals(p.batch() * p.tokensPerSPerUser(), p.tokensPerS(), 1e-9 * p.tokensPerS());
            assertTrue(p.devices().stream().noneMatch(OperatingPoint.DeviceCount::lpu));
            assertEquals(700, p.devices().getFirst().boardWatts());
        }
        assertTrue(points.getFirst().tokensPerSPerUser() > points.getLast().tokensPerSPerUser(), "batch 1 is faster per user than 4096");
        assertTrue(points.getFirst().tokensPerS() < points.get(8).tokensPerS(), "batch 256 yields more than batch 1");
    }

    @Test
    void disaggregatedDecodeRunsOnLpusBesidePrefillOnGpus() {
        // llama-2-7b: its 32k-token tables fit an LPU stage beside a layer (llama-3's 128k do not, as the LPU places them).
        List<OperatingPoint> points = SOURCE.frontier(ModelShapes.shape("llama-2-7b"),
                new Configuration(Configuration.Kind.DISAGG, "rubin", "lp30"), REQUESTS);
        assertFalse(points.isEmpty());
        for (OperatingPoint p : points) {
            assertTrue(p.tokensPerS() <= p.batch() * p.tokensPerSPerUser() * (1 + 1e-12), "prefill overlaps decode at most");
            assertTrue(p.devices().stream().anyMatch(OperatingPoint.DeviceCount::lpu));
            assertTrue(p.devices().stream().anyMatch(d -> !d.lpu()));
        }
    }

    @Test
    void attentionFfnDisaggregationPowersBothKinds() {
        List<OperatingPoint> points = SOURCE.frontier(MODEL, new Configuration(Configuration.Kind.AFD, "rubin", "lp30"), new RequestShape(512, 64));
        assertFalse(points.isEmpty());
        for (OperatingPoint p : points) {
            assertTrue(p.batch() <= CompilerFrontierSource.MAX_LPU_BATCH);
            assertEquals(p.batch() * p.tokensPerSPerUser(), p.tokensPerS(), 1e-9 * p.tokensPerS());
            assertTrue(p.devices().stream().anyMatch(OperatingPoint.DeviceCount::lpu) && p.devices().stream().anyMatch(d -> !d.lpu()));
        }
    }
}
