package dev.tandem.runtime.profile;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.compiler.CostModel;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.DeviceSource;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Op;
import dev.tandem.runtime.compiler.OpKind;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.compiler.Workload;
import dev.tandem.runtime.device.DeviceKind;
import dev.tandem.runtime.device.DeviceSpec;
import dev.tandem.runtime.model.LlamaConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProfiledCostsTest {
    @TempDir
    Path dir;

    // dim 64, hidden 192, 2 layers, 8 heads (head dim 8), 4 KV heads, vocab 256.
    private static final LlamaConfig CONFIG = new LlamaConfig(64, 192, 2, 8, 4, 256, 512, 1e-5f, 10000f, null);
    private static final ModelGraph GRAPH = ModelGraph.dense("tiny", CONFIG, WeightFormat.F32);
    private static final DeviceSpec SPEC = new DeviceSpec("test cpu", DeviceKind.CPU, 1L << 30, 10e9,
            Map.of(WeightFormat.F32, 1e11), 20, 2e-6, Map.of());

    private static DeviceGroup group(String name, DeviceSource source) {
        return new DeviceGroup(name, 1, SPEC, source, 1);
    }

    private ProfileStore storeWith(long cacheBytes) {
        ProfileStore s = new ProfileStore(dir, SyntheticProfiles.machine());
        s.save(SyntheticProfiles.profile("cpu", SyntheticProfiles.machine(), cacheBytes, List.of(WeightFormat.F32)));
        return s;
    }

    private static Op op(Phase phase, OpKind kind, Workload w) {
        return GRAPH.ops(phase, w).stream().filter(o -> o.kind() == kind).findFirst().orElseThrow();
    }

    private static double m(ProfileModel p, long rows, long cols, int batch, boolean cold) {
        return p.matmul(WeightFormat.F32, rows, cols, batch, cold).orElseThrow();
    }

    /** The executor's time around calls kernel calls in ops logged ops: a dispatch per call, a marker per op. */
    private static double between(int calls, int ops) {
        return calls * SyntheticProfiles.DISPATCH + ops * SyntheticProfiles.MARKER;
    }

    @Test
    void aDecodeAttentionIsTheSumOfTheKernelsItsBlockRuns() {
        ProfileStore store = storeWith(32L << 20);
        ProfileModel p = store.model("cpu").orElseThrow();
        Op attention = op(Phase.DECODE, OpKind.ATTENTION, new Workload(1, 1, 100));
        double expected = p.elementwise(OpKinds.RMSNORM, 64) + p.elementwise(OpKinds.ADD, 64)
                + m(p, 64, 64, 1, false) + 2 * m(p, 32, 64, 1, false) + m(p, 64, 64, 1, false)
                + p.elementwise(OpKinds.ROPE, 64) + p.elementwise(OpKinds.ROPE, 32) + 2 * p.elementwise(OpKinds.COPY, 32)
                + p.attention(99, 1, 8, 8)
                // rmsnorm, add, four matmuls, two ropes, two cache copies, attention: 11 calls in one op
                + between(11, 1);
        CostModel.Cost c = new CostModel(List.of(new ProfiledCosts(store))).op(group("cpu", DeviceSource.PRESENT), GRAPH, attention, 1);
        assertEquals(expected, c.seconds(), 1e-15);
        assertEquals("calibrated profile", c.source());
    }

    @Test
    void ffnHeadAndEmbedAreTheirKernelsToo() {
        ProfileStore store = storeWith(32L << 20);
        ProfileModel p = store.model("cpu").orElseThrow();
        ProfiledCosts costs = new ProfiledCosts(store);
        DeviceGroup cpu = group("cpu", DeviceSource.PRESENT);
        Workload w = new Workload(1, 1, 100);
        double ffn = p.elementwise(OpKinds.RMSNORM, 64) + p.elementwise(OpKinds.ADD, 64) + 2 * m(p, 192, 64, 1, false)
                + m(p, 64, 192, 1, false) + p.elementwise(OpKinds.SILU, 192) + between(6, 1);
        assertEquals(ffn, costs.seconds(cpu, GRAPH, op(Phase.DECODE, OpKind.FFN, w), 1).orElseThrow(), 1e-15);
        double head = p.elementwise(OpKinds.COPY, 64) + p.elementwise(OpKinds.RMSNORM, 64) + m(p, 256, 64, 1, false)
                + p.elementwise(OpKinds.READ, 256) + between(4, 1);
        assertEquals(head, costs.seconds(cpu, GRAPH, op(Phase.DECODE, OpKind.HEAD, w), 1).orElseThrow(), 1e-15);
        assertEquals(p.elementwise(OpKinds.EMBED, 64) + between(1, 1), costs.seconds(cpu, GRAPH, op(Phase.DECODE, OpKind.EMBED, w), 1).orElseThrow(), 1e-15);
    }

    @Test
    void prefillRunsEachPromptInTheExecutorsChunks() {
        ProfileStore store = storeWith(32L << 20);
        ProfileModel p = store.model("cpu").orElseThrow();
        // Two prompts of C + 36: chunks of C (the executors' chunk) and 36 rows, the second starting at position C.
        int c = ModelGraph.PREFILL_CHUNK;
        Op attention = op(Phase.PREFILL, OpKind.ATTENTION, new Workload(2, c + 36, c + 56));
        double chunkC = p.elementwise(OpKinds.RMSNORM, c * 64) + p.elementwise(OpKinds.ADD, c * 64)
                + 2 * m(p, 64, 64, c, false) + 2 * m(p, 32, 64, c, false)
                + p.elementwise(OpKinds.ROPE, c * 64) + p.elementwise(OpKinds.ROPE, c * 32) + 2 * p.elementwise(OpKinds.COPY, c * 32)
                + p.attention(0, c, 8, 8) + between(11, 1);
        double chunk36 = p.elementwise(OpKinds.RMSNORM, 36 * 64) + p.elementwise(OpKinds.ADD, 36 * 64)
                + 2 * m(p, 64, 64, 36, false) + 2 * m(p, 32, 64, 36, false)
                + p.elementwise(OpKinds.ROPE, 36 * 64) + p.elementwise(OpKinds.ROPE, 36 * 32) + 2 * p.elementwise(OpKinds.COPY, 36 * 32)
                + p.attention(c, 36, 8, 8) + between(11, 1);
        assertEquals(2 * (chunkC + chunk36),
                new ProfiledCosts(store).seconds(group("cpu", DeviceSource.PRESENT), GRAPH, attention, 1).orElseThrow(), 1e-12);
    }

    @Test
    void betweenKernelsIsADispatchPerKernelCallAndAMarkerPerOpAndShowsAsItsOwnClass() {
        ProfileStore store = storeWith(32L << 20);
        ProfileModel p = store.model("cpu").orElseThrow();
        assertEquals(SyntheticProfiles.MARKER, p.markerSeconds(), 1e-18);
        assertEquals(SyntheticProfiles.DISPATCH, p.dispatchSeconds(), 1e-18);
        ProfiledCosts costs = new ProfiledCosts(store);
        DeviceGroup cpu = group("cpu", DeviceSource.PRESENT);
        Workload w = new Workload(1, 1, 100);
        String label = KernelClass.BETWEEN.label();
        assertEquals(between(11, 1), costs.kernelSeconds(cpu, GRAPH, op(Phase.DECODE, OpKind.ATTENTION, w), 1).orElseThrow().get(label), 1e-18);
        assertEquals(between(6, 1), costs.kernelSeconds(cpu, GRAPH, op(Phase.DECODE, OpKind.FFN, w), 1).orElseThrow().get(label), 1e-18);
        assertEquals(between(4, 1), costs.kernelSeconds(cpu, GRAPH, op(Phase.DECODE, OpKind.HEAD, w), 1).orElseThrow().get(label), 1e-18);
        assertEquals(between(1, 1), costs.kernelSeconds(cpu, GRAPH, op(Phase.DECODE, OpKind.EMBED, w), 1).orElseThrow().get(label), 1e-18);
        // Prefill: two prompts of C + 36 in chunks of C and 36, each chunk its own op of 11 calls.
        Op prefill = op(Phase.PREFILL, OpKind.ATTENTION, new Workload(2, ModelGraph.PREFILL_CHUNK + 36, ModelGraph.PREFILL_CHUNK + 56));
        assertEquals(between(4 * 11, 4), costs.kernelSeconds(cpu, GRAPH, prefill, 1).orElseThrow().get(label), 1e-18);
        // A decode step of the whole model: embed, two layers' attention and FFN, head.
        double step = GRAPH.ops(Phase.DECODE, w).stream()
                .mapToDouble(o -> costs.kernelSeconds(cpu, GRAPH, o, 1).orElseThrow().get(label)).sum();
        assertEquals(between(1 + 2 * (11 + 6) + 4, 6), step, 1e-18);
    }

    @Test
    void aProfileWithoutAMarkerPointPricesEachOpsMarkerAsADispatch() {
        List<Measurement> points = SyntheticProfiles.points(List.of(WeightFormat.F32)).stream()
                .filter(m -> !m.kind().equals(OpKinds.MARKER)).toList();
        ProfileModel p = ProfileModel.of(new DeviceProfile(DeviceProfile.FORMAT_VERSION, "cpu", "old cpu", SyntheticProfiles.machine(),
                "2026-11-30T00:00:00Z", 32L << 20, 1.0, points));
        assertEquals(SyntheticProfiles.DISPATCH, p.markerSeconds(), 1e-18);
        assertEquals(7 * SyntheticProfiles.DISPATCH, ProfiledCosts.betweenKernels(p, 6, 1), 1e-18);
    }

    @Test
    void aModelLargerThanTheCacheStreamsItsWeights() {
        Op ffn = op(Phase.DECODE, OpKind.FFN, new Workload(1, 1, 100));
        double hot = new ProfiledCosts(storeWith(1L << 30)).seconds(group("cpu", DeviceSource.PRESENT), GRAPH, ffn, 1).orElseThrow();
        double cold = new ProfiledCosts(storeWith(0)).seconds(group("cpu", DeviceSource.PRESENT), GRAPH, ffn, 1).orElseThrow();
        assertTrue(cold > hot, cold + " vs " + hot);
    }

    @Test
    void withoutAProfileAPresentDeviceIsPricedByTheRooflineLabelledUncalibrated() {
        ProfileStore empty = new ProfileStore(dir, SyntheticProfiles.machine());
        CostModel model = new CostModel(List.of(new ProfiledCosts(empty)));
        Op attention = op(Phase.DECODE, OpKind.ATTENTION, new Workload(1, 1, 100));
        CostModel.Cost c = model.op(group("cpu", DeviceSource.PRESENT), GRAPH, attention, 1);
        assertEquals(CostModel.UNCALIBRATED, c.source());
        assertEquals(CostModel.roofline(SPEC, GRAPH, attention, 1), c.seconds(), 1e-15);
    }

    @Test
    void onlyPresentDevicesWithTheModelsFormatsAndDenseLayersAnswer() {
        ProfiledCosts costs = new ProfiledCosts(storeWith(32L << 20));
        Op attention = op(Phase.DECODE, OpKind.ATTENTION, new Workload(1, 1, 100));
        assertTrue(costs.seconds(group("cpu", DeviceSource.CATALOG), GRAPH, attention, 1).isEmpty());
        assertTrue(costs.seconds(group("cpu", DeviceSource.PRESENT), GRAPH, attention, 2).isEmpty(), "tensor parallel");
        assertTrue(costs.seconds(group("opencl", DeviceSource.PRESENT), GRAPH, attention, 1).isEmpty(), "no opencl profile");
        ModelGraph q4 = GRAPH.withFormat(WeightFormat.Q4_0);
        assertTrue(costs.seconds(group("cpu", DeviceSource.PRESENT), q4, q4.ops(Phase.DECODE, new Workload(1, 1, 100)).get(1), 1).isEmpty(),
                "Q4_0 was never timed");
        ModelGraph moe = new ModelGraph("moe", CONFIG, WeightFormat.F32, 4, 2, false);
        assertTrue(costs.seconds(group("cpu", DeviceSource.PRESENT), moe, moe.ops(Phase.DECODE, new Workload(1, 1, 100)).get(2), 1).isEmpty());
        Op shapeless = new Op(0, OpKind.ATTENTION, Phase.DECODE, "x", 1, 1, 0, 0, 1, 1, 1);
        assertTrue(costs.seconds(group("cpu", DeviceSource.PRESENT), GRAPH, shapeless, 1).isEmpty());
    }
}
