package dev.tandem.device.lpu;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.CapacityException;
import dev.tandem.runtime.compiler.Compiler;
import dev.tandem.runtime.compiler.CostModel;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.ModelShapes;
import dev.tandem.runtime.compiler.Objective;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.compiler.Policy;
import dev.tandem.runtime.compiler.PoolParser;
import dev.tandem.runtime.compiler.Workload;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The compiler, with the emulator installed, costs LPU attention and FFN ops by their block programs' cycles. */
class LpuOpCostProviderTest {
    @Test
    void compilerFindsTheProviderAndUsesItsCycles() {
        ModelGraph g = ModelShapes.shape("llama-2-7b").withFormat(WeightFormat.Q8_0);
        // 96 chips: the fewest whose stages hold their share as the device places it (fp32 KV caches on every chip of a block).
        var pool = PoolParser.parse("groqchip1*96", new Catalog());
        Workload w = new Workload(1, 16, 256);
        Plan exact = Compiler.withInstalledProviders().compile(g, pool, w, Policy.LPU_ONLY, Objective.lowestTpot());
        Plan roofline = new Compiler(CostModel.roofline()).compile(g, pool, w, Policy.LPU_ONLY, Objective.lowestTpot());
        assertTrue(exact.costSources().stream().anyMatch(s -> s.contains("lpu-sim")), exact.costSources().toString());
        // Same plan shape, different layer costs: decode and prefill (chunk programs) both move.
        assertTrue(exact.predicted().tpotMs() != roofline.predicted().tpotMs());
        assertTrue(exact.predicted().ttftMs() != roofline.predicted().ttftMs());
    }

    @Test
    void seventyBOnAMixedPoolCompilesWithExactLpuCosts() {
        ModelGraph g = ModelShapes.shape("llama-2-70b").withFormat(WeightFormat.Q8_0);
        var pool = PoolParser.parse("groqchip1*576,h100*8", new Catalog());
        // LPUs alone do not hold it as the device places it: the embedding's stage cannot hold a layer next to the table.
        assertThrows(CapacityException.class, () -> Compiler.withInstalledProviders().compile(g, pool, new Workload(1, 512, 4096),
                Policy.LPU_ONLY, Objective.lowestTpot()));
        Plan p = Compiler.withInstalledProviders().compile(g, pool, new Workload(1, 512, 4096), Policy.AFD, Objective.lowestTpot());
        assertTrue(p.costSources().stream().anyMatch(s -> s.contains("lpu-sim")), p.costSources().toString());
        assertTrue(p.predicted().tpotMs() > 0 && Double.isFinite(p.predicted().tpotMs()));
    }
}
