package dev.tandem.device.lpu;

import dev.tandem.conformance.RandomWeights;
import dev.tandem.device.lpu.Instruction.LoadExpertWeights;
import dev.tandem.device.lpu.Instruction.LoadWeights;
import dev.tandem.kernels.Ops;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Op;
import dev.tandem.runtime.compiler.OpKind;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.compiler.PoolParser;
import dev.tandem.runtime.compiler.Workload;
import dev.tandem.runtime.model.LlamaConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The mixture-of-experts FFN block program: its output equals a plain reference of Mixtral's MoE
 * FFN (rmsnorm, router, top-2 with softmax gates, each chosen expert's SwiGLU scaled and summed in
 * choice order, residual) bit for bit, it streams exactly the chosen experts' weights, and it takes
 * exactly the cycles the compiler's provider prices for the FFN op of a mixture at the same tp.
 */
class MoeFfnBlockTest {
    // dim 96, hidden 160: whole Q8_0 blocks; 4 experts, 2 active.
    static final LlamaConfig C = new LlamaConfig(96, 160, 1, 3, 1, 32, 64, 1e-5f, 10000f, null);
    static final int EXPERTS = 4, ACTIVE = 2;

    private final Random seeds = new Random();

    @ParameterizedTest(name = "{0} tp {1} {2} rows {3}")
    @CsvSource({"lp30, 1, Q8_0, 1", "lp30, 3, Q8_0, 1", "groqchip1, 2, F32, 1", "groqchip1, 3, Q8_0, 3"})
    void equalsTheReferenceStreamsOnlyTheChosenExpertsAndTakesThePricedCycles(String preset, int tp, WeightFormat f, int rows) {
        ChipConfig chip = ChipConfig.preset(preset);
        long seed = seeds.nextLong();
        Random r = new Random(seed);
        int dim = C.dim(), hidden = C.hiddenDim();
        try (Arena arena = Arena.ofShared(); ChipArray array = new ChipArray(chip, tp, false)) {
            WeightMatrix router = RandomWeights.create(arena, f, EXPERTS, dim, r);
            WeightMatrix[] w1 = new WeightMatrix[EXPERTS], w3 = new WeightMatrix[EXPERTS], w2 = new WeightMatrix[EXPERTS];
            Map<String, WeightMatrix> matrices = new HashMap<>(Map.of("router", router));
            for (int e = 0; e < EXPERTS; e++) {
                w1[e] = RandomWeights.create(arena, f, hidden, dim, r);
                w3[e] = RandomWeights.create(arena, f, hidden, dim, r);
                w2[e] = RandomWeights.create(arena, f, dim, hidden, r);
                matrices.put(BlockPlacement.expertTensor("w1", e), w1[e]);
                matrices.put(BlockPlacement.expertTensor("w3", e), w3[e]);
                matrices.put(BlockPlacement.expertTensor("w2", e), w2[e]);
            }
            float[] norm = RandomWeights.floats(dim, r);
            float[] x = RandomWeights.floats(rows * dim, r);

            // Something placed first, so the addresses differ from the provider's fresh chips.
            ChipMemory memory = new ChipMemory(chip, tp);
            memory.buffer("padding", 12345);
            Allocation xs = memory.buffer("x", (long) ModelGraph.PREFILL_CHUNK * dim);
            WeightFormat[] formats = {f, f, f, f};
            BlockPlacement p = memory.placeBlock((a, ids) -> MoeFfnBlockLowering.place(chip, a, ids, C, formats, EXPERTS, ACTIVE));
            p.writeWeights(array, matrices);
            p.writeEverywhere(array, "norm", norm);
            array.writeFloats(0, xs.offset(), x, 0, x.length);

            StaticProgram program = MoeFfnBlockLowering.lower(chip, C, p, xs, rows, EXPERTS, ACTIVE);
            RunStats run = array.run(program, ChipArray.Mode.FULL);
            float[] got = new float[rows * dim];
            array.readFloats(0, xs.offset(), got, 0, got.length);
            assertArrayEquals(reference(x, rows, norm, router, w1, w3, w2), got, "seed " + seed);

            // Only the chosen experts' tiles are loaded: rows × ACTIVE experts × (W1 + W3 + W2), plus the router once a row.
            long expertBytes = 0, otherBytes = 0;
            for (ScheduledInstruction s : program.instructions()) {
                if (s.instruction() instanceof LoadExpertWeights l) {
                    expertBytes += l.bytes();
                } else if (s.instruction() instanceof LoadWeights l) {
                    otherBytes += l.bytes();
                }
            }
            assertEquals((long) rows * ACTIVE * (2 * f.bytesFor((long) hidden * dim) + f.bytesFor((long) dim * hidden)), expertBytes);
            assertEquals((long) rows * f.bytesFor((long) EXPERTS * dim), otherBytes);

            // The compiler's price of a decode FFN of `rows` sequences of a mixture is this program's cycles.
            ModelGraph graph = new ModelGraph("moe", C, f, EXPERTS, ACTIVE, false);
            Op ffn = graph.ops(Phase.DECODE, new Workload(rows, 8, 32)).stream().filter(o -> o.kind() == OpKind.FFN).findFirst().orElseThrow();
            double seconds = new LpuOpCostProvider().seconds(PoolParser.parse(preset + "*" + tp, new Catalog()).groups().getFirst(),
                    graph, ffn, tp).orElseThrow();
            assertEquals(run.cycles(), Math.round(seconds * chip.clockHz()));
        }
    }

    /** Mixtral's MoE FFN on rows of x, written plainly with the kernels' dot products. */
    static float[] reference(float[] x, int rows, float[] norm, WeightMatrix router, WeightMatrix[] w1, WeightMatrix[] w3,
                             WeightMatrix[] w2) {
        int dim = C.dim(), hidden = C.hiddenDim();
        float[] out = x.clone();
        for (int row = 0; row < rows; row++) {
            float[] xb = new float[dim];
            Ops.rmsnorm(xb, 0, x, row * dim, norm, dim, C.rmsEps());
            float[] logits = new float[EXPERTS];
            for (int e = 0; e < EXPERTS; e++) {
                logits[e] = router.dot(e, xb, 0);
            }
            Integer[] order = {0, 1, 2, 3};
            Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a])); // stable: ties keep the lower index first
            float[] gate = new float[ACTIVE];
            float sum = 0;
            for (int j = 0; j < ACTIVE; j++) {
                gate[j] = (float) Math.exp(logits[order[j]] - logits[order[0]]);
                sum += gate[j];
            }
            float[] o = new float[dim];
            for (int j = 0; j < ACTIVE; j++) {
                int e = order[j];
                float[] g = new float[hidden], u = new float[hidden], y = new float[dim];
                for (int h = 0; h < hidden; h++) {
                    g[h] = w1[e].dot(h, xb, 0);
                    u[h] = w3[e].dot(h, xb, 0);
                }
                Ops.siluMul(g, 0, u, 0, hidden);
                float weight = gate[j] / sum;
                for (int d = 0; d < dim; d++) {
                    y[d] = w2[e].dot(d, g, 0) * weight;
                }
                if (j == 0) {
                    o = y;
                } else {
                    Ops.addInPlace(o, 0, y, 0, dim);
                }
            }
            Ops.addInPlace(out, row * dim, o, 0, dim);
        }
        return out;
    }
}
