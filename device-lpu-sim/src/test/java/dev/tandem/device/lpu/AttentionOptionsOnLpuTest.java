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
import dev.tandem.runtime.device.AttentionWeights;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceAttention;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceEvent;
import dev.tandem.runtime.device.Devices;
import dev.tandem.runtime.model.ArchOptions;
import dev.tandem.runtime.model.LlamaConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The LPU's fused attention block with what Qwen2 and Qwen3 add (q|k|v biases; per-head QK-norm and
 * a head width other than dim/heads): a prefill chunk and decode steps equal the CPU device's block
 * (the primitive ops and the host's option arithmetic) bit for bit, and each takes exactly the
 * cycles the compiler prices for its op.
 */
class AttentionOptionsOnLpuTest {
    static final int CONTEXT = 40;
    private final Random seeds = new Random();

    static LlamaConfig config(String arch) {
        boolean qwen3 = arch.equals("qwen3");
        ArchOptions options = new ArchOptions(arch, !qwen3, qwen3, true, null);
        return new LlamaConfig(64, 96, 1, 4, 2, 32, CONTEXT, 1e-5f, 10000f, null, qwen3 ? 24 : 16, options);
    }

    static AttentionWeights weights(Arena arena, LlamaConfig c, WeightFormat f, Random r) {
        int dim = c.dim(), q = c.qDim(), kv = c.kvDim();
        boolean bias = c.arch().qkvBias(), norm = c.arch().qkNorm();
        return new AttentionWeights(c, RandomWeights.create(arena, f, q, dim, r), RandomWeights.create(arena, f, kv, dim, r),
                RandomWeights.create(arena, f, kv, dim, r), RandomWeights.create(arena, f, dim, q, r), RandomWeights.floats(dim, r),
                c.ropeInvFreq(), bias ? RandomWeights.floats(q, r) : null, bias ? RandomWeights.floats(kv, r) : null,
                bias ? RandomWeights.floats(kv, r) : null, norm ? RandomWeights.floats(c.headDim(), r) : null,
                norm ? RandomWeights.floats(c.headDim(), r) : null);
    }

    private static long predicted(String preset, int tp, ModelGraph g, Phase phase, Workload w) {
        Op op = g.ops(phase, w).stream().filter(o -> o.kind() == OpKind.ATTENTION).findFirst().orElseThrow();
        double s = new LpuOpCostProvider().seconds(PoolParser.parse(preset + "*" + tp, new Catalog()).groups().getFirst(), g, op, tp)
                .orElseThrow();
        return Math.round(s * ChipConfig.preset(preset).clockHz());
    }

    @ParameterizedTest(name = "{0} {1} tp {2} {3}")
    @CsvSource({"qwen2, lp30, 1, F32", "qwen2, groqchip1, 3, Q8_0", "qwen3, lp30, 2, F32", "qwen3, groqchip1, 1, Q8_0"})
    void optionsEqualTheCpuAndTakeThePredictedCycles(String arch, String preset, int tp, WeightFormat f) {
        LlamaConfig c = config(arch);
        long seed = seeds.nextLong();
        Random r = new Random(seed);
        int dim = c.dim(), prompt = 9;
        ModelGraph g = ModelGraph.dense(arch, c, f);
        try (Arena arena = Arena.ofShared(); LpuDevice lpu = new LpuDevice(ChipConfig.preset(preset), tp, null);
             Device cpu = Devices.open("cpu")) {
            AttentionWeights w = weights(arena, c, f, r);
            DeviceAttention onLpu = lpu.uploadAttention(w, CONTEXT, ModelGraph.PREFILL_CHUNK);
            DeviceAttention onCpu = cpu.uploadAttention(w, CONTEXT, ModelGraph.PREFILL_CHUNK);
            DeviceBuffer xl = lpu.allocate((long) prompt * dim), xc = cpu.allocate((long) prompt * dim);
            int pos = 0;
            for (int rows : new int[] {prompt, 1, 1, 1}) {
                float[] x = RandomWeights.floats(rows * dim, r);
                lpu.write(xl, 0, x, 0, x.length);
                cpu.write(xc, 0, x, 0, x.length);
                int at = pos;
                DeviceEvent before = lpu.record();
                onLpu.run(xl, at, rows);
                long cycles = lpu.record().cyclesSince(before).orElseThrow();
                onCpu.run(xc, at, rows);
                float[] got = new float[x.length], want = new float[x.length];
                lpu.read(xl, 0, got, 0, got.length);
                cpu.read(xc, 0, want, 0, want.length);
                assertArrayEquals(want, got, arch + " rows at " + at + ", seed " + seed);
                long expected = rows > 1 ? predicted(preset, tp, g, Phase.PREFILL, new Workload(1, rows, CONTEXT))
                        : predicted(preset, tp, g, Phase.DECODE, new Workload(1, prompt, at + 1));
                assertEquals(expected, cycles, arch + " rows at " + at);
                pos += rows;
            }
            onLpu.close();
            onCpu.close();
            xl.close();
            xc.close();
        }
    }
}
