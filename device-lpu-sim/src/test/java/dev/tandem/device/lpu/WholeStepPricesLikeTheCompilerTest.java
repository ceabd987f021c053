package dev.tandem.device.lpu;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.OpKind;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.compiler.PoolParser;
import dev.tandem.runtime.compiler.Workload;
import dev.tandem.runtime.model.LlamaConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The whole decode step and the compiler price the same programs: each program of an LpuLlama step
 * on one stage takes exactly the cycles the compiler's cost provider predicts for that op on a group
 * of the stage's chips (embedding, every attention and FFN block at the step's position, the head).
 */
class WholeStepPricesLikeTheCompilerTest {
    /** Two layers of stories260K's widths, untied, in Q8_0-friendly widths so the tables are priced too. */
    static final LlamaConfig SMALL = new LlamaConfig(64, 192, 2, 8, 4, 512, 256, 1e-5f, 10000f, null);

    @ParameterizedTest(name = "{0} on {1} chips at position {2}")
    @CsvSource({"lp30, 1, 0", "lp30, 2, 9", "groqchip1, 3, 100", "groqchip1, 1, 255"})
    void everyProgramOfAStepCostsWhatTheProviderPredicts(String preset, int chips, int pos) {
        ChipConfig chip = ChipConfig.preset(preset);
        ModelShape shape = ModelShape.uniform(SMALL, WeightFormat.Q8_0);
        StageLayout layout = new StageLayout(shape, chip, chips, SMALL.contextLength());
        assertEquals(1, layout.stages().size());
        List<LpuLlama.StepProgram> step = LpuLlama.stepPrograms(layout, layout.placed(), 5, pos);
        // embed, (attention, FFN) per layer, then the head's copy, rmsnorm and matmul.
        assertEquals(1 + 2 * SMALL.nLayers() + 3, step.size());

        ModelGraph g = ModelGraph.dense("small", SMALL, WeightFormat.Q8_0);
        DeviceGroup group = PoolParser.parse(preset + "*" + chips, new Catalog()).groups().getFirst();
        Workload w = new Workload(1, 1, pos + 1);
        LpuOpCostProvider provider = new LpuOpCostProvider();
        java.util.function.Function<OpKind, Long> predicted = kind -> Math.round(chip.clockHz() * provider.seconds(group, g,
                g.ops(Phase.DECODE, w).stream().filter(o -> o.kind() == kind).findFirst().orElseThrow(), chips).orElseThrow());

        assertEquals(predicted.apply(OpKind.EMBED), step.getFirst().program().cycles(), "embed");
        for (int l = 0; l < SMALL.nLayers(); l++) {
            assertEquals(predicted.apply(OpKind.ATTENTION), step.get(1 + 2 * l).program().cycles(), "attention of layer " + l);
            assertEquals(predicted.apply(OpKind.FFN), step.get(2 + 2 * l).program().cycles(), "FFN of layer " + l);
        }
        long head = 0;
        for (LpuLlama.StepProgram p : step.subList(step.size() - 3, step.size())) {
            head += p.program().cycles();
        }
        assertEquals(predicted.apply(OpKind.HEAD), head, "head");
    }
}
