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
import dev.tandem.runtime.compiler.GroupLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
        // LPUs alone hold it as the device places it, as Groq ran it on 576 chips: a layer a stage and the
        // embedding and output tables each on a stage of its own, 82 stages of 7 chips. (Before the tables
        // could take stages of their own, the embedding's stage held no layer next to its table: refused.)
        Plan lpu = Compiler.withInstalledProviders().compile(g, pool, new Workload(1, 512, 4096), Policy.LPU_ONLY, Objective.lowestTpot());
        GroupLayout l = lpu.layouts().get("groqchip1");
        assertEquals(574, l.devicesUsed(), l.toString());
        assertTrue(l.embeddingAlone() && l.headAlone(), l.toString());
        assertTrue(lpu.costSources().stream().anyMatch(s -> s.contains("lpu-sim")), lpu.costSources().toString());
        // Fewer chips than the cut needs: refused, naming the group.
        CapacityException e = assertThrows(CapacityException.class, () -> Compiler.withInstalledProviders().compile(g,
                PoolParser.parse("groqchip1*200,h100*8", new Catalog()), new Workload(1, 512, 4096), Policy.LPU_ONLY, Objective.lowestTpot()));
        assertTrue(e.getMessage().contains("groqchip1"), e.getMessage());
        Plan p = Compiler.withInstalledProviders().compile(g, pool, new Workload(1, 512, 4096), Policy.AFD, Objective.lowestTpot());
        assertTrue(p.costSources().stream().anyMatch(s -> s.contains("lpu-sim")), p.costSources().toString());
        assertTrue(p.predicted().tpotMs() > 0 && Double.isFinite(p.predicted().tpotMs()));
    }

    /**
     * Llama-3's 128K-vocabulary tables fit beside no layer of an LP30 node: each takes a stage of its
     * own, its rows over the node's chips, and the 80 layers the stages between.
     */
    @ParameterizedTest(name = "llama-3-70b {0} on lp30: {1} stages")
    @CsvSource({"F16, 82", "Q8_0, 29"})
    void llama3SeventyBOnLp30GivesItsTablesStagesOfTheirOwn(WeightFormat format, int stages) {
        ModelGraph g = ModelShapes.shape("llama-3-70b").withFormat(format);
        Plan p = Compiler.withInstalledProviders().compile(g, PoolParser.parse("lp30*1000", new Catalog()), new Workload(1, 512, 4096),
                Policy.LPU_ONLY, Objective.lowestTpot());
        GroupLayout l = p.layouts().get("lp30");
        assertEquals(8, l.tensorParallel());
        assertEquals(stages, l.stages());
        assertTrue(l.embeddingAlone() && l.headAlone(), l.toString());
        assertEquals(0, l.stageOf(-1));
        assertEquals(1, l.stageOf(0));
        assertEquals(stages - 2, l.stageOf(g.config().nLayers() - 1));
        assertEquals(stages - 1, l.stageOf(g.config().nLayers()));
        assertTrue(p.predicted().tpotMs() > 0 && Double.isFinite(p.predicted().tpotMs()));
    }
}
