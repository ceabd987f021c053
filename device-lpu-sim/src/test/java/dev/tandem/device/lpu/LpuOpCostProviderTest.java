package dev.tandem.device.lpu;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.compiler.Catalog;
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

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The compiler, with the emulator installed, costs LPU decode layers by lowered cycles. */
class LpuOpCostProviderTest {
    @Test
    void compilerFindsTheProviderAndUsesItsCycles() {
        ModelGraph g = ModelShapes.shape("llama-2-7b").withFormat(WeightFormat.Q8_0);
        var pool = PoolParser.parse("groqchip1*64", new Catalog());
        Workload w = new Workload(1, 16, 256);
        long t0 = System.nanoTime();
        Plan exact = Compiler.withInstalledProviders().compile(g, pool, w, Policy.LPU_ONLY, Objective.lowestTpot());
        double seconds = (System.nanoTime() - t0) / 1e9;
        Plan roofline = new Compiler(CostModel.roofline()).compile(g, pool, w, Policy.LPU_ONLY, Objective.lowestTpot());
        System.out.println("exact " + exact.predicted() + " " + exact.costSources() + " memory " + exact.memory() + " in " + seconds + " s");
        System.out.println("roofline " + roofline.predicted());
        assertTrue(exact.costSources().stream().anyMatch(s -> s.contains("lpu-sim")), exact.costSources().toString());
        assertTrue(exact.predicted().tpotMs() >= roofline.predicted().tpotMs() * 0.5);
    }
}
