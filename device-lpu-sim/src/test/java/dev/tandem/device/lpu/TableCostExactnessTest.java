package dev.tandem.device.lpu;

import dev.tandem.conformance.RandomWeights;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Op;
import dev.tandem.runtime.compiler.OpKind;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.compiler.PoolParser;
import dev.tandem.runtime.compiler.Workload;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceEvent;
import dev.tandem.runtime.device.DeviceWeights;
import dev.tandem.runtime.model.LlamaConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.util.OptionalDouble;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The compiler's LPU cost of the embedding and the head equals the cycles the device measures
 * around PlanForward's calls for them, exactly, on a device filled in PlanForward's order (x, the
 * embedding table, the output table, then the norm, last-row and logits buffers).
 */
class TableCostExactnessTest {
    static final LlamaConfig STORIES = new LlamaConfig(64, 172, 1, 8, 4, 512, 512, 1e-5f, 10000f, null);
    /** A Q8_0 table of 187 MB: past what groqchip1's chip 0 gives weights next to other chips (3/4 of 220 MiB). */
    static final LlamaConfig WIDE = new LlamaConfig(2048, 5632, 1, 16, 16, 86_000, 512, 1e-5f, 10000f, null);
    static final int CHUNK = ModelGraph.PREFILL_CHUNK;

    private final LpuOpCostProvider provider = new LpuOpCostProvider();
    private final Random seeds = new Random();

    private static DeviceGroup group(String preset, int count) {
        return PoolParser.parse(preset + "*" + count, new Catalog()).groups().getFirst();
    }

    private static Op op(ModelGraph g, Phase phase, Workload w, OpKind kind) {
        return g.ops(phase, w).stream().filter(o -> o.kind() == kind).findFirst().orElseThrow();
    }

    private OptionalDouble seconds(String preset, int tp, ModelGraph g, Phase phase, Workload w, OpKind kind) {
        return provider.seconds(group(preset, tp), g, op(g, phase, w, kind), tp);
    }

    private long predicted(String preset, int tp, ModelGraph g, Phase phase, Workload w, OpKind kind) {
        double s = seconds(preset, tp, g, phase, w, kind).orElseThrow(() -> new AssertionError(kind + " " + phase + " not priced"));
        return Math.round(s * ChipConfig.preset(preset).clockHz());
    }

    private static long measure(LpuDevice lpu, Runnable run) {
        DeviceEvent before = lpu.record();
        run.run();
        return lpu.record().cyclesSince(before).orElseThrow();
    }

    /** A stage as PlanForward opens and fills it; embedding null for the last stage of a pipeline. */
    private record Stage(LpuDevice lpu, DeviceBuffer x, DeviceWeights output, DeviceBuffer finalNorm, DeviceBuffer last,
                         DeviceBuffer logits) {
        static Stage open(ChipConfig chip, int tp, LlamaConfig c, DeviceWeights[] embeddingOut, WeightMatrix embedding,
                          WeightMatrix output, Random r) {
            LpuDevice lpu = new LpuDevice(chip, tp, null);
            DeviceBuffer x = lpu.allocate((long) CHUNK * c.dim());
            lpu.write(x, 0, RandomWeights.floats(CHUNK * c.dim(), r), 0, CHUNK * c.dim());
            DeviceWeights emb = embedding != null ? lpu.upload(embedding) : null;
            if (embeddingOut != null) {
                embeddingOut[0] = emb;
            }
            DeviceWeights out = output == embedding ? emb : lpu.upload(output);
            DeviceBuffer finalNorm = lpu.allocate(c.dim());
            lpu.write(finalNorm, 0, RandomWeights.floats(c.dim(), r), 0, c.dim());
            return new Stage(lpu, x, out, finalNorm, lpu.allocate(c.dim()), lpu.allocate(c.vocabSize()));
        }

        long head(LlamaConfig c, int batch) {
            int dim = c.dim();
            return measure(lpu, () -> {
                lpu.copy(x, (long) (batch - 1) * dim, last, 0, dim);
                lpu.rmsnorm(last, last, finalNorm, dim, 1, c.rmsEps());
                lpu.matmul(output, last, logits, 1);
            });
        }
    }

    @ParameterizedTest(name = "{0} tp {1} {2} tied {3}")
    @CsvSource({"lp30, 1, F32, true", "lp30, 2, F32, true", "groqchip1, 1, F32, true", "groqchip1, 2, F32, true",
            "lp30, 1, Q8_0, false", "lp30, 2, Q8_0, false", "groqchip1, 1, Q8_0, false", "groqchip1, 2, Q8_0, false"})
    void predictionsEqualMeasuredCycles(String preset, int tp, WeightFormat format, boolean tied) {
        check(preset, tp, STORIES, format, tied);
    }

    /** The table lands whole on chip 1: every token's row and the head's matvec go over C2C. */
    @Test
    void aTableOnAnotherChipIsPricedWithItsTransfers() {
        check("groqchip1", 2, WIDE, WeightFormat.Q8_0, true);
    }

    private void check(String preset, int tp, LlamaConfig c, WeightFormat format, boolean tied) {
        ChipConfig chip = ChipConfig.preset(preset);
        ModelGraph g = new ModelGraph("t", c, format, 1, 1, tied);
        Random r = new Random(seeds.nextLong());
        int prompt = 150;
        try (Arena arena = Arena.ofShared()) {
            WeightMatrix embedding = RandomWeights.create(arena, format, c.vocabSize(), c.dim(), r);
            WeightMatrix output = tied ? embedding : RandomWeights.create(arena, format, c.vocabSize(), c.dim(), r);
            DeviceWeights[] emb = new DeviceWeights[1];
            Stage stage = Stage.open(chip, tp, c, emb, embedding, output, r);
            try (LpuDevice lpu = stage.lpu()) {
                int[] tokens = r.ints(prompt, 0, c.vocabSize()).toArray();
                // Prefill: chunks of 64, 64, 22; the head reads the last chunk's last row.
                long embedCycles = 0;
                int lastBatch = 0;
                for (int done = 0; done < prompt; done += CHUNK) {
                    int from = done;
                    lastBatch = Math.min(CHUNK, prompt - done);
                    int[] chunk = java.util.Arrays.copyOfRange(tokens, from, from + lastBatch);
                    embedCycles += measure(lpu, () -> lpu.embed(emb[0], chunk, stage.x()));
                }
                Workload pw = new Workload(1, prompt, 200);
                assertEquals(embedCycles, predicted(preset, tp, g, Phase.PREFILL, pw, OpKind.EMBED), "prefill embed");
                assertEquals(stage.head(c, lastBatch), predicted(preset, tp, g, Phase.PREFILL, pw, OpKind.HEAD), "prefill head");

                Workload dw = new Workload(1, prompt, prompt + 1);
                int token = tokens[7];
                long decodeEmbed = measure(lpu, () -> lpu.embed(emb[0], new int[] {token}, stage.x()));
                assertEquals(decodeEmbed, predicted(preset, tp, g, Phase.DECODE, dw, OpKind.EMBED), "decode embed");
                assertEquals(stage.head(c, 1), predicted(preset, tp, g, Phase.DECODE, dw, OpKind.HEAD), "decode head");
                // A prompt of 150 embeds more than one token: a prediction that ignored the chunks would miss this.
                assertNotEquals(decodeEmbed, embedCycles);
            }
            if (!tied) {
                // The head on the last of several pipeline stages: x and the output table only, the same pieces here.
                Stage own = Stage.open(chip, tp, c, null, null, output, r);
                try (LpuDevice lpu = own.lpu()) {
                    assertEquals(own.head(c, 1), predicted(preset, tp, g, Phase.DECODE, new Workload(1, prompt, prompt + 1), OpKind.HEAD),
                            "decode head on a stage of its own");
                }
            }
        }
    }

    @Test
    void whatThePlacementLeavesOpenAnswersEmpty() {
        DeviceGroup groq = group("groqchip1", 2);
        Workload one = new Workload(1, 1, 10);
        // Untied 187 MB tables on two chips: a single stage puts the embedding on chip 1 and splits the output
        // table over both; a head-only stage (the last of a pipeline) keeps it whole on chip 1. The op does not
        // say which stage runs the head, so it is not priced; the embedding (on chip 1 either way) is.
        ModelGraph untied = new ModelGraph("wide", WIDE, WeightFormat.Q8_0, 1, 1, false);
        assertTrue(provider.seconds(groq, untied, op(untied, Phase.DECODE, one, OpKind.HEAD), 2).isEmpty());
        assertTrue(provider.seconds(groq, untied, op(untied, Phase.DECODE, one, OpKind.EMBED), 2).isPresent());
        // Several sequences' heads are not one program.
        ModelGraph g = ModelGraph.dense("stories", STORIES, WeightFormat.F32);
        DeviceGroup lp30 = group("lp30", 1);
        assertTrue(provider.seconds(lp30, g, op(g, Phase.DECODE, new Workload(4, 1, 10), OpKind.HEAD), 1).isEmpty());
        assertTrue(provider.seconds(lp30, g, op(g, Phase.DECODE, one, OpKind.HEAD), 1).isPresent());
        // A width of no whole Q8_0 blocks: the table cannot be Q8_0, and the graph does not say what it is.
        LlamaConfig odd = new LlamaConfig(48, 160, 1, 3, 1, 32, 512, 1e-5f, 10000f, null);
        ModelGraph oddQ8 = ModelGraph.dense("odd", odd, WeightFormat.Q8_0);
        assertTrue(provider.seconds(lp30, oddQ8, op(oddQ8, Phase.DECODE, one, OpKind.EMBED), 1).isEmpty());
        // Tables kept in another format than the layers (common in GGUF files) are not what the lowering places.
        ModelGraph f16Tables = new ModelGraph("mixed", STORIES, WeightFormat.F32, 1, 1, false, WeightFormat.F16, WeightFormat.F32);
        assertTrue(provider.seconds(lp30, f16Tables, op(f16Tables, Phase.DECODE, one, OpKind.EMBED), 1).isEmpty());
        assertTrue(provider.seconds(lp30, f16Tables, op(f16Tables, Phase.DECODE, one, OpKind.HEAD), 1).isEmpty());
        // A 300 MB tied table split over two chips: the head's matmul is known, which chip holds a token's row is not.
        LlamaConfig huge = new LlamaConfig(4096, 11008, 1, 32, 32, 69_000, 512, 1e-5f, 10000f, null);
        ModelGraph split = new ModelGraph("huge", huge, WeightFormat.Q8_0, 1, 1, true);
        assertTrue(provider.seconds(groq, split, op(split, Phase.DECODE, one, OpKind.EMBED), 2).isEmpty());
        assertTrue(provider.seconds(groq, split, op(split, Phase.DECODE, one, OpKind.HEAD), 2).isPresent());
        // Twice as many rows do not fit two chips at all.
        LlamaConfig tooBig = new LlamaConfig(4096, 11008, 1, 32, 32, 138_000, 512, 1e-5f, 10000f, null);
        ModelGraph none = new ModelGraph("too big", tooBig, WeightFormat.Q8_0, 1, 1, true);
        assertTrue(provider.seconds(groq, none, op(none, Phase.DECODE, one, OpKind.HEAD), 2).isEmpty());
    }
}
