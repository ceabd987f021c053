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
    void aGpuAloneIsOneNodeUnderTheServingModel() {
        List<OperatingPoint> points = SOURCE.frontier(MODEL, Configuration.gpuOnly("h100"), REQUESTS);
        assertTrue(points.size() > 13, "every batch the KV cache allows, not only powers of two: " + points.size());
        for (OperatingPoint p : points) {
            // Prefill is amortised into the system's rate: it never exceeds every request decoding at 1/TPOT.
            assertTrue(p.tokensPerS() <= p.batch() * p.tokensPerSPerUser() * (1 + 1e-12), p.detail());
            assertEquals(1, p.devices().size());
            OperatingPoint.DeviceCount d = p.devices().getFirst();
            assertFalse(d.lpu());
            assertEquals(700, d.boardWatts());
            assertTrue(d.count() >= 1 && d.count() <= d.nodeSize(), "one node is the unit: " + p.detail());
        }
        OperatingPoint fastest = points.stream().max(java.util.Comparator.comparingDouble(OperatingPoint::tokensPerSPerUser)).orElseThrow();
        OperatingPoint busiest = points.stream().max(java.util.Comparator.comparingDouble(OperatingPoint::tokensPerS)).orElseThrow();
        assertTrue(fastest.batch() < busiest.batch(), "the fast end runs fewer requests than the throughput end");
        assertTrue(busiest.tokensPerS() > 10 * fastest.tokensPerS(), "batching multiplies the node's tokens");
    }

    @Test
    void aModelOneNodeCannotHoldFallsBackToTheStaticPlans() {
        // llama-3.1-405b in f16 is 810 GB: more than eight H100s hold, so the compiler adds nodes.
        List<OperatingPoint> points = SOURCE.frontier(ModelShapes.shape("llama-3.1-405b"), Configuration.gpuOnly("h100"), REQUESTS);
        assertFalse(points.isEmpty());
        assertTrue(points.stream().allMatch(p -> p.devices().getFirst().count() > 8), "more than one node per unit");
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
