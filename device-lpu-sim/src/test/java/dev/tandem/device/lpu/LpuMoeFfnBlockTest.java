package dev.tandem.device.lpu;

import dev.tandem.conformance.RandomWeights;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Op;
import dev.tandem.runtime.compiler.OpKind;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.compiler.PoolParser;
import dev.tandem.runtime.compiler.Workload;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceEvent;
import dev.tandem.runtime.device.DeviceFfn;
import dev.tandem.runtime.device.MoeFfnWeights;
import dev.tandem.runtime.device.UnsupportedWeightFormatException;
import dev.tandem.runtime.model.ArchOptions;
import dev.tandem.runtime.model.ExpertFfn;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.MoeConfig;
import dev.tandem.runtime.model.MoeLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The mixture block behind the SPI ({@link LpuDevice#uploadMoeFfn}): for Mixtral's, Qwen2-MoE's and
 * Qwen3-MoE's options, odd widths and counts, batches of 1 to 64 rows and a prefill of 70 rows in
 * the executors' chunks, it equals the host's mixture bit for bit and every run takes exactly the
 * cycles the compiler prices for that op; a growing device places a mixture too big for one chip
 * over several; formats the emulated MXM does not multiply are refused before anything is placed.
 */
class LpuMoeFfnBlockTest {
    private final Random seeds = new Random();

    private static long measure(LpuDevice lpu, Runnable run) {
        DeviceEvent before = lpu.record();
        run.run();
        return lpu.record().cyclesSince(before).orElseThrow();
    }

    private static long predicted(String preset, int tp, ModelGraph g, Phase phase, Workload w) {
        Op op = g.ops(phase, w).stream().filter(o -> o.kind() == OpKind.FFN).findFirst().orElseThrow();
        double s = new LpuOpCostProvider().seconds(PoolParser.parse(preset + "*" + tp, new Catalog()).groups().getFirst(), g, op, tp)
                .orElseThrow();
        return Math.round(s * ChipConfig.preset(preset).clockHz());
    }

    @ParameterizedTest(name = "{0} {1} tp {2} {3}")
    @CsvSource({"mixtral, lp30, 1, Q8_0", "mixtral, groqchip1, 3, F32", "qwen2moe, lp30, 2, F32", "qwen2moe, groqchip1, 1, Q8_0",
            "qwen3moe, lp30, 3, Q4_0", "qwen3moe, groqchip1, 2, F32"})
    void equalsTheHostAndTakesThePredictedCyclesForEveryBatch(String arch, String preset, int tp, WeightFormat f) {
        LlamaConfig c = MoeFfnBlockTest.config(arch, f);
        MoeConfig moe = c.arch().moe();
        long seed = seeds.nextLong();
        Random r = new Random(seed);
        int dim = c.dim(), chunk = ModelGraph.PREFILL_CHUNK;
        try (Arena arena = Arena.ofShared(); LpuDevice lpu = new LpuDevice(ChipConfig.preset(preset), tp, null)) {
            MoeLayer layer = MoeFfnBlockTest.layer(arena, c, f, f, r);
            float[] norm = RandomWeights.floats(dim, r);
            DeviceBuffer padding = lpu.allocate(777);
            DeviceFfn block = lpu.uploadMoeFfn(new MoeFfnWeights(c, layer, norm), chunk);
            DeviceBuffer x = lpu.allocate((long) chunk * dim);
            ModelGraph g = new ModelGraph(arch, c, f, moe.experts(), moe.expertsUsed(), false);
            for (int rows : new int[] {1, 3, 5, chunk}) {
                float[] in = RandomWeights.floats(rows * dim, r);
                lpu.write(x, 0, in, 0, in.length);
                long cycles = measure(lpu, () -> block.run(x, rows));
                float[] got = new float[rows * dim];
                lpu.read(x, 0, got, 0, got.length);
                assertArrayEquals(MoeFfnBlockTest.reference(c, layer, norm, in, rows), got, arch + " " + rows + " rows, seed " + seed);
                assertEquals(predicted(preset, tp, g, Phase.DECODE, new Workload(rows, 8, 32)), cycles, rows + " rows");
            }
            // A prompt of 70 tokens runs as the executors run it, chunks of 64 and 6, priced as one prefill op.
            int prompt = 70;
            float[] all = RandomWeights.floats(prompt * dim, r);
            float[] expected = MoeFfnBlockTest.reference(c, layer, norm, all, prompt);
            long cycles = 0;
            for (int done = 0; done < prompt; done += chunk) {
                int rows = Math.min(chunk, prompt - done);
                lpu.write(x, 0, all, done * dim, rows * dim);
                cycles += measure(lpu, () -> block.run(x, rows));
                float[] got = new float[rows * dim];
                lpu.read(x, 0, got, 0, got.length);
                assertArrayEquals(Arrays.copyOfRange(expected, done * dim, (done + rows) * dim), got, "prefill rows from " + done);
            }
            assertEquals(predicted(preset, tp, g, Phase.PREFILL, new Workload(1, prompt, prompt)), cycles, "prefill");
            assertThrows(IllegalArgumentException.class, () -> block.run(x, chunk + 1));
            block.close();
            x.close();
            padding.close();
        }
    }

    @Test
    void aMixtureTooBigForOneChipIsPlacedOverSeveral() {
        LlamaConfig c = MoeFfnBlockTest.config("qwen2moe", WeightFormat.Q8_0);
        Random r = new Random(seeds.nextLong());
        // 60 kB chips: four experts of 49 kB each in Q8_0 and a shared expert.
        ChipConfig small = ChipConfig.preset("lp30").with("sramBytes", "60000");
        try (Arena arena = Arena.ofShared(); LpuDevice lpu = new LpuDevice(small, 0, null)) {
            MoeLayer layer = MoeFfnBlockTest.layer(arena, c, WeightFormat.Q8_0, WeightFormat.F32, r);
            float[] norm = RandomWeights.floats(c.dim(), r);
            DeviceBuffer x = lpu.allocate(3L * c.dim());
            MoeFfnWeights w = new MoeFfnWeights(c, layer, norm);
            assertTrue(lpu.moeFfnBytes(w, 3) > 2 * 60000, "the block outgrows two chips: " + lpu.moeFfnBytes(w, 3));
            LpuMoeFfnBlock block = (LpuMoeFfnBlock) lpu.uploadMoeFfn(w, 3);
            assertTrue(block.placement.chips().length >= 3, "placed on " + Arrays.toString(block.placement.chips()));
            assertTrue(Arrays.stream(block.placement.chips()).noneMatch(chip -> chip == 0), "chip 0 keeps its room for x");
            float[] in = RandomWeights.floats(3 * c.dim(), r);
            lpu.write(x, 0, in, 0, in.length);
            block.run(x, 3);
            float[] got = new float[in.length];
            lpu.read(x, 0, got, 0, got.length);
            assertArrayEquals(MoeFfnBlockTest.reference(c, layer, norm, in, 3), got);
            block.close();
        }
    }

    @Test
    void expertsInAFormatTheMxmDoesNotMultiplyAreRefusedBeforeAnythingIsPlaced() {
        LlamaConfig c = new LlamaConfig(256, 256, 1, 4, 2, 32, 64, 1e-5f, 10000f, null, 64,
                new ArchOptions("qwen3moe", false, true, true, new MoeConfig(4, 2, 256, true, 0)));
        Random r = new Random(seeds.nextLong());
        try (Arena arena = Arena.ofShared(); LpuDevice lpu = new LpuDevice(ChipConfig.preset("lp30"), 1, null)) {
            MoeLayer kQuant = MoeFfnBlockTest.layer(arena, c, WeightFormat.Q4_K, WeightFormat.F32, r);
            UnsupportedWeightFormatException e = assertThrows(UnsupportedWeightFormatException.class,
                    () -> lpu.uploadMoeFfn(new MoeFfnWeights(c, kQuant, new float[c.dim()]), 1));
            assertTrue(e.getMessage().contains("Q4_K"), e.getMessage());
            // Experts of different shapes cannot share one indexed load.
            MoeLayer mixed = MoeFfnBlockTest.layer(arena, c, WeightFormat.F32, WeightFormat.F32, r);
            ExpertFfn[] experts = mixed.experts().clone();
            experts[1] = new ExpertFfn(experts[1].gate(), experts[1].up(), RandomWeights.create(arena, WeightFormat.F16, c.dim(), 256, r));
            MoeLayer odd = new MoeLayer(mixed.router(), experts, null, null);
            IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                    () -> lpu.uploadMoeFfn(new MoeFfnWeights(c, odd, new float[c.dim()]), 1));
            assertTrue(bad.getMessage().contains("expert 1 down"), bad.getMessage());
        }
    }
}
