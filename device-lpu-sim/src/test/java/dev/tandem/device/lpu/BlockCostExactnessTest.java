package dev.tandem.device.lpu;

import dev.tandem.conformance.RandomWeights;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.compiler.BatchShape;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Op;
import dev.tandem.runtime.compiler.OpKind;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.compiler.PoolParser;
import dev.tandem.runtime.compiler.Workload;
import dev.tandem.runtime.device.BatchRows;
import dev.tandem.runtime.device.DeviceAttention;
import dev.tandem.runtime.device.DevicePagedAttention;
import dev.tandem.runtime.device.KvPoolSpec;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceEvent;
import dev.tandem.runtime.device.DeviceFfn;
import dev.tandem.runtime.model.LlamaConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The compiler's LPU cost of an attention or FFN op equals the cycles the device measures around
 * the same block, exactly: the provider lowers the same programs with a placement on empty chips,
 * the device with its own (other blocks and buffers before it, so other addresses).
 */
class BlockCostExactnessTest {
    /** stories260K's widths (hidden 172 is not a whole Q8_0 block: F32). */
    static final LlamaConfig STORIES = new LlamaConfig(64, 172, 1, 8, 4, 512, 512, 1e-5f, 10000f, null);
    /** Odd Q8_0 widths: q|k|v of 160 rows over 2 or 3 chips. */
    static final LlamaConfig ODD = new LlamaConfig(96, 160, 1, 3, 1, 32, 512, 1e-5f, 10000f, null);
    static final int CONTEXT = 200;

    private final LpuOpCostProvider provider = new LpuOpCostProvider();
    private final Random seeds = new Random();

    private static DeviceGroup group(String preset, int count) {
        return PoolParser.parse(preset + "*" + count, new Catalog()).groups().getFirst();
    }

    private static Op op(ModelGraph g, Phase phase, Workload w, OpKind kind) {
        return g.ops(phase, w).stream().filter(o -> o.kind() == kind).findFirst().orElseThrow();
    }

    private long predicted(String preset, int tp, ModelGraph g, Phase phase, Workload w, OpKind kind) {
        ChipConfig chip = ChipConfig.preset(preset);
        double s = provider.seconds(group(preset, tp), g, op(g, phase, w, kind), tp).orElseThrow();
        // Seconds are cycles / clockHz; times clockHz rounds back to the integer cycles.
        return Math.round(s * chip.clockHz());
    }

    private static WeightFormat formatOf(LlamaConfig c) { return c == STORIES ? WeightFormat.F32 : WeightFormat.Q8_0; }

    @ParameterizedTest(name = "{0} tp {1} {2}")
    @CsvSource({"lp30, 1, stories", "lp30, 2, stories", "groqchip1, 1, stories", "groqchip1, 2, stories",
            "lp30, 2, odd", "groqchip1, 3, odd"})
    void predictionsEqualMeasuredCycles(String preset, int tp, String model) {
        LlamaConfig c = model.equals("stories") ? STORIES : ODD;
        WeightFormat f = formatOf(c);
        ModelGraph g = ModelGraph.dense(model, c, f);
        Random r = new Random(seeds.nextLong());
        try (Arena arena = Arena.ofShared(); LpuDevice lpu = new LpuDevice(ChipConfig.preset(preset), tp, null)) {
            // Something placed first, so the device's addresses differ from the provider's.
            DeviceBuffer padding = lpu.allocate(12345);
            DeviceAttention attention = lpu.uploadAttention(attentionWeights(arena, c, f, r), CONTEXT, ModelGraph.PREFILL_CHUNK);
            DeviceFfn ffn = lpu.uploadFfn(ffnWeights(arena, c, f, r), ModelGraph.PREFILL_CHUNK);
            DeviceBuffer x = lpu.allocate((long) ModelGraph.PREFILL_CHUNK * c.dim());
            lpu.write(x, 0, RandomWeights.floats(ModelGraph.PREFILL_CHUNK * c.dim(), r), 0, ModelGraph.PREFILL_CHUNK * c.dim());

            // Prefill of a 150-token prompt: chunks of 64, 64, 22 at positions 0, 64, 128.
            int prompt = 150;
            long attentionCycles = 0, ffnCycles = 0;
            for (int done = 0; done < prompt; done += ModelGraph.PREFILL_CHUNK) {
                int batch = Math.min(ModelGraph.PREFILL_CHUNK, prompt - done);
                int pos0 = done;
                attentionCycles += measure(lpu, () -> attention.run(x, pos0, batch));
                ffnCycles += measure(lpu, () -> ffn.run(x, batch));
            }
            Workload pw = new Workload(1, prompt, CONTEXT);
            assertEquals(attentionCycles, predicted(preset, tp, g, Phase.PREFILL, pw, OpKind.ATTENTION), "prefill attention");
            assertEquals(ffnCycles, predicted(preset, tp, g, Phase.PREFILL, pw, OpKind.FFN), "prefill FFN");

            // Decode at several positions: the step that reads kvPositions rows writes row kvPositions - 1.
            for (int kvPositions : new int[] {prompt + 1, prompt + 7, CONTEXT}) {
                Workload dw = new Workload(1, prompt, kvPositions);
                long a = measure(lpu, () -> attention.run(x, kvPositions - 1, 1));
                long m = measure(lpu, () -> ffn.run(x, 1));
                assertEquals(a, predicted(preset, tp, g, Phase.DECODE, dw, OpKind.ATTENTION), "decode attention at " + kvPositions);
                assertEquals(m, predicted(preset, tp, g, Phase.DECODE, dw, OpKind.FFN), "decode FFN at " + kvPositions);
            }
            padding.close();
            x.close();
            attention.close();
            ffn.close();
        }
    }

    /**
     * Paged attention: steps mixing decode rows and prefill chunks of sequences at their own
     * positions (some starting mid-block), in a pool with odd block sizes and shuffled tables; each
     * step's measured cycles equal the provider's for the op of that batch shape, and a prompt's
     * chunks sum to the prefill op's.
     */
    @ParameterizedTest(name = "{0} tp {1} {2} blocks of {3}")
    @CsvSource({"lp30, 1, stories, 16", "lp30, 2, stories, 3", "groqchip1, 1, stories, 1", "lp30, 2, odd, 5", "groqchip1, 3, odd, 7"})
    void pagedStepsCostWhatTheCompilerPredictsForTheirShape(String preset, int tp, String model, int blockSize) {
        LlamaConfig c = model.equals("stories") ? STORIES : ODD;
        WeightFormat f = formatOf(c);
        ModelGraph g = ModelGraph.dense(model, c, f);
        Random r = new Random(seeds.nextLong());
        int sequences = 4, perSequence = (CONTEXT + blockSize - 1) / blockSize;
        KvPoolSpec pool = new KvPoolSpec(blockSize, sequences * perSequence);
        List<Integer> free = new ArrayList<>(IntStream.range(0, pool.blocks()).boxed().toList());
        Collections.shuffle(free, r);
        int[][] tables = new int[sequences][perSequence];
        for (int[] table : tables) {
            for (int b = 0; b < perSequence; b++) {
                table[b] = free.removeLast();
            }
        }
        int maxRows = ModelGraph.PREFILL_CHUNK + sequences;
        try (Arena arena = Arena.ofShared(); LpuDevice lpu = new LpuDevice(ChipConfig.preset(preset), tp, null)) {
            DeviceBuffer padding = lpu.allocate(777);
            DevicePagedAttention attention = lpu.uploadPagedAttention(attentionWeights(arena, c, f, r), pool, maxRows);
            DeviceBuffer x = lpu.allocate((long) maxRows * c.dim());
            lpu.write(x, 0, RandomWeights.floats(maxRows * c.dim(), r), 0, maxRows * c.dim());
            // A 150-token prompt of sequence 0 in chunks, as the batch executor prefills it.
            int prompt = 150;
            long prefill = 0;
            for (int done = 0; done < prompt; done += ModelGraph.PREFILL_CHUNK) {
                BatchRows rows = BatchRows.sequence(tables[0], done, Math.min(ModelGraph.PREFILL_CHUNK, prompt - done));
                prefill += measure(lpu, () -> attention.run(x, rows));
            }
            Op prefillOp = op(g, Phase.PREFILL, new Workload(1, prompt, CONTEXT), OpKind.ATTENTION)
                    .withBatchShape(new BatchShape(blockSize, List.of(new BatchShape.Run(0, prompt))));
            assertEquals(prefill, cycles(preset, tp, g, prefillOp), "paged prefill attention");
            // Mixed steps: (sequence, first position, rows) per run; the sequences' caches were filled before.
            int[][][] steps = {
                    {{0, prompt, 1}},
                    {{0, prompt + 1, 1}, {1, 0, 5}, {2, 0, 1}},
                    {{2, 1, 17}, {1, 5, 1}, {0, prompt + 2, 1}, {3, 0, 2}},
                    {{3, 2, 1}, {1, 6, 1}, {2, 18, 1}, {0, prompt + 3, 1}},
                    {{1, 7, ModelGraph.PREFILL_CHUNK}, {3, 3, 1}},
            };
            for (int[][] step : steps) {
                List<BatchShape.Run> runs = new ArrayList<>();
                int n = Arrays.stream(step).mapToInt(run -> run[2]).sum();
                int[] pos = new int[n];
                int[][] rowTables = new int[n][];
                int i = 0;
                for (int[] run : step) {
                    runs.add(new BatchShape.Run(run[1], run[2]));
                    for (int j = 0; j < run[2]; j++, i++) {
                        pos[i] = run[1] + j;
                        rowTables[i] = tables[run[0]];
                    }
                }
                long measured = measure(lpu, () -> attention.run(x, new BatchRows(pos, rowTables)));
                int furthest = Arrays.stream(pos).max().orElseThrow() + 1;
                Op stepOp = op(g, Phase.DECODE, new Workload(n, 1, furthest), OpKind.ATTENTION)
                        .withBatchShape(new BatchShape(blockSize, runs));
                assertEquals(measured, cycles(preset, tp, g, stepOp), "step " + runs);
            }
            padding.close();
            x.close();
            attention.close();
        }
    }

    private long cycles(String preset, int tp, ModelGraph g, Op op) {
        double s = provider.seconds(group(preset, tp), g, op, tp).orElseThrow();
        return Math.round(s * ChipConfig.preset(preset).clockHz());
    }

    private static long measure(LpuDevice lpu, Runnable run) {
        DeviceEvent before = lpu.record();
        run.run();
        return lpu.record().cyclesSince(before).orElseThrow();
    }

    @Test
    void longerContextsCostMoreAndMoreChipsChangeTheCost() {
        ModelGraph g = ModelGraph.dense("stories", STORIES, WeightFormat.F32);
        long near = predicted("lp30", 1, g, Phase.DECODE, new Workload(1, 1, 10), OpKind.ATTENTION);
        long far = predicted("lp30", 1, g, Phase.DECODE, new Workload(1, 1, 500), OpKind.ATTENTION);
        assertTrue(far > near, near + " vs " + far);
        assertNotEquals(predicted("lp30", 1, g, Phase.DECODE, new Workload(1, 1, 10), OpKind.FFN),
                predicted("lp30", 2, g, Phase.DECODE, new Workload(1, 1, 10), OpKind.FFN));
    }

    @Test
    void whatIsNotLoweredAnswersEmpty() {
        ModelGraph g = ModelGraph.dense("stories", STORIES, WeightFormat.F32);
        DeviceGroup lp30 = group("lp30", 2);
        // Several sequences decoding: rows at different positions in different caches.
        assertTrue(provider.seconds(lp30, g, op(g, Phase.DECODE, new Workload(4, 1, 10), OpKind.ATTENTION), 2).isEmpty());
        // A mixture's FFN is lowered now (its MoE block program): two experts' passes cost more than one dense FFN.
        ModelGraph moe = new ModelGraph("moe", STORIES, WeightFormat.F32, 4, 2, false);
        double moeFfn = provider.seconds(lp30, moe, op(moe, Phase.DECODE, new Workload(1, 1, 10), OpKind.FFN), 2).orElseThrow();
        assertTrue(moeFfn > provider.seconds(lp30, g, op(g, Phase.DECODE, new Workload(1, 1, 10), OpKind.FFN), 2).orElseThrow());
        // A KV cache of 10^6 positions does not fit one 500 MB chip next to nothing else.
        LlamaConfig wide = new LlamaConfig(4096, 11008, 1, 32, 32, 512, 1 << 20, 1e-5f, 10000f, null);
        ModelGraph big = ModelGraph.dense("wide", wide, WeightFormat.Q8_0);
        assertTrue(provider.seconds(lp30, big, op(big, Phase.DECODE, new Workload(1, 1, 1_000_000), OpKind.ATTENTION), 1).isEmpty());
    }

    static dev.tandem.runtime.device.AttentionWeights attentionWeights(Arena arena, LlamaConfig c, WeightFormat f, Random r) {
        int dim = c.dim(), kvDim = c.kvDim();
        return new dev.tandem.runtime.device.AttentionWeights(c, RandomWeights.create(arena, f, dim, dim, r),
                RandomWeights.create(arena, f, kvDim, dim, r), RandomWeights.create(arena, f, kvDim, dim, r),
                RandomWeights.create(arena, f, dim, dim, r), RandomWeights.floats(dim, r), c.ropeInvFreq());
    }

    static dev.tandem.runtime.device.FfnWeights ffnWeights(Arena arena, LlamaConfig c, WeightFormat f, Random r) {
        return new dev.tandem.runtime.device.FfnWeights(c, RandomWeights.create(arena, f, c.hiddenDim(), c.dim(), r),
                RandomWeights.create(arena, f, c.hiddenDim(), c.dim(), r), RandomWeights.create(arena, f, c.dim(), c.hiddenDim(), r),
                RandomWeights.floats(c.dim(), r));
    }
}
