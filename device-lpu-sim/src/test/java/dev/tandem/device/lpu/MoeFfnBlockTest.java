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
import dev.tandem.runtime.exec.HostMoeFfn;
import dev.tandem.runtime.model.ArchOptions;
import dev.tandem.runtime.model.ExpertFfn;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.MoeConfig;
import dev.tandem.runtime.model.MoeLayer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The mixture-of-experts FFN block program: its output equals the host's mixture ({@link HostMoeFfn},
 * what the reference forward pass runs) bit for bit for Mixtral's, Qwen2-MoE's (no renormalisation,
 * a sigmoid-gated shared expert of its own width) and Qwen3-MoE's options, it streams exactly the
 * chosen experts' weights (and the router and shared expert once a row), and it takes exactly the
 * cycles the compiler's provider prices for the FFN op of that mixture at the same tp.
 */
class MoeFfnBlockTest {
    private final Random seeds = new Random();

    /** A mixture's config: whole Q8_0 blocks for the quantized cases, odd widths and counts for F32. */
    static LlamaConfig config(String arch, WeightFormat f) {
        boolean quant = f.blockSize() > 1;
        int dim = quant ? 96 : 70, hidden = quant ? 160 : 45, shared = quant ? 64 : 33;
        int experts = quant ? 4 : 5, used = quant ? 2 : 3;
        MoeConfig moe = switch (arch) {
            case "mixtral", "qwen3moe" -> new MoeConfig(experts, used, hidden, true, 0);
            case "qwen2moe" -> new MoeConfig(experts, used, hidden, false, shared);
            default -> throw new IllegalArgumentException(arch);
        };
        ArchOptions options = new ArchOptions(arch.equals("mixtral") ? "llama" : arch, arch.equals("qwen2moe"),
                arch.equals("qwen3moe"), !arch.equals("mixtral"), moe);
        return new LlamaConfig(dim, hidden, 1, 2, 1, 32, 64, 1e-5f, 10000f, null, 16, options);
    }

    /** Random router (in routerFormat), experts and shared expert (in f), shared gate in F32. */
    static MoeLayer layer(Arena arena, LlamaConfig c, WeightFormat f, WeightFormat routerFormat, Random r) {
        MoeConfig moe = c.arch().moe();
        int dim = c.dim(), hidden = moe.expertHiddenDim();
        ExpertFfn[] experts = new ExpertFfn[moe.experts()];
        for (int e = 0; e < experts.length; e++) {
            experts[e] = new ExpertFfn(RandomWeights.create(arena, f, hidden, dim, r), RandomWeights.create(arena, f, hidden, dim, r),
                    RandomWeights.create(arena, f, dim, hidden, r));
        }
        ExpertFfn shared = null;
        WeightMatrix sharedGate = null;
        if (moe.hasSharedExpert()) {
            int s = moe.sharedHiddenDim();
            shared = new ExpertFfn(RandomWeights.create(arena, f, s, dim, r), RandomWeights.create(arena, f, s, dim, r),
                    RandomWeights.create(arena, f, dim, s, r));
            sharedGate = RandomWeights.create(arena, WeightFormat.F32, 1, dim, r);
        }
        return new MoeLayer(RandomWeights.create(arena, routerFormat, moe.experts(), dim, r), experts, shared, sharedGate);
    }

    /** The host's mixture on rows of x: x[b] += moe(rmsnorm(x[b])). */
    static float[] reference(LlamaConfig c, MoeLayer layer, float[] norm, float[] x, int rows) {
        int dim = c.dim();
        float[] out = x.clone(), xb = new float[dim];
        HostMoeFfn host = new HostMoeFfn(c);
        for (int row = 0; row < rows; row++) {
            Ops.rmsnorm(xb, 0, out, row * dim, norm, dim, c.rmsEps());
            host.run(layer, xb, 0, out, row * dim);
        }
        return out;
    }

    @ParameterizedTest(name = "{4} {0} tp {1} {2} rows {3}")
    @CsvSource({"lp30, 1, Q8_0, 1, mixtral", "lp30, 3, Q8_0, 1, mixtral", "groqchip1, 2, F32, 1, mixtral",
            "groqchip1, 3, Q8_0, 3, mixtral", "lp30, 2, F32, 4, qwen2moe", "lp30, 3, Q8_0, 2, qwen2moe",
            "groqchip1, 1, F32, 3, qwen3moe", "lp30, 2, Q4_0, 2, qwen3moe"})
    void equalsTheHostStreamsOnlyTheChosenExpertsAndTakesThePricedCycles(String preset, int tp, WeightFormat f, int rows,
                                                                       String arch) {
        ChipConfig chip = ChipConfig.preset(preset);
        LlamaConfig c = config(arch, f);
        MoeConfig moe = c.arch().moe();
        long seed = seeds.nextLong();
        Random r = new Random(seed);
        int dim = c.dim();
        // Files keep routers in F32 next to quantized experts; the block and the compiler both take the router's own format.
        WeightFormat routerFormat = f == WeightFormat.Q8_0 ? WeightFormat.F32 : f;
        try (Arena arena = Arena.ofShared(); ChipArray array = new ChipArray(chip, tp, false)) {
            MoeLayer layer = layer(arena, c, f, routerFormat, r);
            Map<String, WeightMatrix> matrices = new HashMap<>(Map.of("router", layer.router()));
            for (int e = 0; e < moe.experts(); e++) {
                matrices.put(BlockPlacement.expertTensor("w1", e), layer.experts()[e].gate());
                matrices.put(BlockPlacement.expertTensor("w3", e), layer.experts()[e].up());
                matrices.put(BlockPlacement.expertTensor("w2", e), layer.experts()[e].down());
            }
            if (moe.hasSharedExpert()) {
                matrices.putAll(Map.of("sgate", layer.sharedGate(), "sw1", layer.shared().gate(), "sw3", layer.shared().up(),
                        "sw2", layer.shared().down()));
            }
            float[] norm = RandomWeights.floats(dim, r);
            float[] x = RandomWeights.floats(rows * dim, r);

            // Something placed first, so the addresses differ from the provider's fresh chips.
            ChipMemory memory = new ChipMemory(chip, tp);
            memory.buffer("padding", 12345);
            Allocation xs = memory.buffer("x", (long) ModelGraph.PREFILL_CHUNK * dim);
            WeightFormat[] formats = MoeFfnBlockLowering.formats(moe, routerFormat, f);
            BlockPlacement p = memory.placeBlock((a, ids) -> MoeFfnBlockLowering.place(chip, a, ids, c, moe, formats));
            p.writeWeights(array, matrices);
            p.writeEverywhere(array, "norm", norm);
            array.writeFloats(0, xs.offset(), x, 0, x.length);

            StaticProgram program = MoeFfnBlockLowering.lower(chip, c, moe, p, xs, rows);
            RunStats run = array.run(program, ChipArray.Mode.FULL);
            float[] got = new float[rows * dim];
            array.readFloats(0, xs.offset(), got, 0, got.length);
            assertArrayEquals(reference(c, layer, norm, x, rows), got, "seed " + seed);

            // Only the chosen experts' tiles are loaded: rows × k experts × (W1 + W3 + W2); the router and the shared expert once a row.
            long expertBytes = 0, otherBytes = 0;
            for (ScheduledInstruction s : program.instructions()) {
                if (s.instruction() instanceof LoadExpertWeights l) {
                    expertBytes += l.bytes();
                } else if (s.instruction() instanceof LoadWeights l) {
                    otherBytes += l.bytes();
                }
            }
            assertEquals((long) rows * moe.expertsUsed() * layer.experts()[0].byteSize(), expertBytes);
            long perRow = layer.router().byteSize() + (moe.hasSharedExpert() ? layer.sharedGate().byteSize() + layer.shared().byteSize() : 0);
            assertEquals(rows * perRow, otherBytes);

            // The compiler's price of a decode FFN of `rows` sequences of this mixture is this program's cycles.
            ModelGraph graph = new ModelGraph("moe", c, f, moe.experts(), moe.expertsUsed(), false, f, f, routerFormat);
            Op ffn = graph.ops(Phase.DECODE, new Workload(rows, 8, 32)).stream().filter(o -> o.kind() == OpKind.FFN).findFirst().orElseThrow();
            double seconds = new LpuOpCostProvider().seconds(PoolParser.parse(preset + "*" + tp, new Catalog()).groups().getFirst(),
                    graph, ffn, tp).orElseThrow();
            assertEquals(run.cycles(), Math.round(seconds * chip.clockHz()));
        }
    }
}
