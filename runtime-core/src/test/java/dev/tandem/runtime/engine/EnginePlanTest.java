package dev.tandem.runtime.engine;

import dev.tandem.conformance.SharedData;
import dev.tandem.runtime.GenerationResult;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.Session;
import dev.tandem.runtime.Tandem;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.Compiler;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Objective;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.compiler.Policy;
import dev.tandem.runtime.compiler.PoolParser;
import dev.tandem.runtime.compiler.Workload;
import dev.tandem.runtime.device.DeviceUnavailableException;
import dev.tandem.runtime.exec.ReferenceForward;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine on a compiled plan's placement: requests of different prompts and lengths, submitted
 * from several threads, each give bit for bit their single-stream run's ids and logits, with chunked
 * prefill mixed into decode steps: on the cpu, the reference's; on a disagg plan (prefill on one
 * of cpu and the scalar test backend, decode on the other, whose sums differ in the last bits), the
 * same plan serving the request alone. Under disagg every sequence's KV rows move to the decode
 * group after its prefill, and again after a preemption's recompute when the pool is tight.
 */
class EnginePlanTest {
    private static final int REQUESTS = 24, CONTEXT = 64;

    record Request(int[] prompt, Sampling sampling) {}

    static Plan compile(Model m, String pool, Policy policy, int batch, int prompt, int context) {
        return Compiler.withInstalledProviders().compile(ModelGraph.of(m), PoolParser.parse(pool, new Catalog()),
                new Workload(batch, prompt, context), policy, Objective.lowestTpot());
    }

    @ParameterizedTest(name = "{1} on {0}, {2} KV blocks")
    @CsvSource({"cpu, SINGLE, 0", "'cpu,scalar-test', DISAGG, 0", "'cpu,scalar-test', DISAGG, 14"})
    void concurrentRequestsOnAPlanMatchTheirSingleStreamRuns(String pool, Policy policy, int kvBlocks) throws Exception {
        try (Model model = Model.load(SharedData.model("stories260K.bin"))) {
            Plan plan = compile(model, pool, policy, 8, 16, CONTEXT);
            List<Request> requests = requests(model.config().vocabSize(), new Random(pool.hashCode() + kvBlocks));
            EngineConfig config = EngineConfig.defaults(CONTEXT).blockSize(8).kvBlocks(kvBlocks).maxBatchTokens(24).maxSequences(12)
                    .queueCapacity(REQUESTS);
            List<List<float[]>> logits = new ArrayList<>();
            for (int i = 0; i < REQUESTS; i++) {
                logits.add(new CopyOnWriteArrayList<>());
            }
            List<RequestHandle> handles = new ArrayList<>(java.util.Collections.nCopies(REQUESTS, null));
            PlanStats stats;
            long preemptions;
            Map<String, Double> busy;
            try (Engine engine = Engine.open(model, plan, config)) {
                ExecutorService submitters = Executors.newFixedThreadPool(4);
                List<Future<?>> submitted = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    int first = t;
                    submitted.add(submitters.submit(() -> {
                        for (int i = first; i < REQUESTS; i += 4) {
                            handles.set(i, engine.submit(requests.get(i).prompt(), requests.get(i).sampling(), null, logits.get(i)::add));
                        }
                        return null;
                    }));
                }
                for (Future<?> f : submitted) {
                    f.get();
                }
                submitters.shutdown();
                for (RequestHandle h : handles) {
                    h.result().join();
                }
                assertEquals(engine.pool().blocks(), engine.freeKvBlocks(), "every block is back in the pool");
                stats = engine.planStats().orElseThrow();
                preemptions = engine.preemptions();
                busy = engine.deviceBusySeconds();
            }
            if (kvBlocks > 0) {
                assertTrue(preemptions > 0, "the tight pool should have forced preemption");
            }
            assertTrue(stats.plan().startsWith(plan.chosen()), stats.plan());
            assertTrue(stats.decodeSteps() > 0 && stats.predictedSeconds() > 0 && stats.measuredSeconds() > 0, stats.toString());
            assertEquals(0, stats.inexactBlocks(), stats.toString());
            assertEquals(0, stats.microBatchedSteps(), "attention and FFN share a group: nothing ping-pongs");
            assertTrue(busy.values().stream().allMatch(s -> s > 0), "every device of the plan worked: " + busy);
            assertEquals(policy == Policy.DISAGG ? 2 : 1, busy.size(), busy.toString());
            if (policy == Policy.SINGLE) {
                // On the cpu alone every row is the reference's arithmetic: the single-stream run is ReferenceForward's.
                try (Session session = Tandem.open(model, CONTEXT)) {
                    for (int i = 0; i < REQUESTS; i++) {
                        Request q = requests.get(i);
                        GenerationResult got = handles.get(i).result().join();
                        GenerationResult want = session.generate(q.prompt(), q.sampling(), null);
                        String what = policy + " request " + i + " (prompt " + q.prompt().length + ")";
                        assertArrayEquals(want.generatedIds(), got.generatedIds(), what + ": ids");
                        assertEquals(want.stopReason(), got.stopReason(), what);
                        assertLogitsAreTheReferences(model, q.prompt(), got.generatedIds(), logits.get(i), what);
                    }
                }
            } else {
                // The scalar test backend sums in its own order, so the single-stream run is the same plan serving
                // each request alone: what shares a step, or moves when, must change no bit.
                try (Engine alone = Engine.open(model, plan, config)) {
                    for (int i = 0; i < REQUESTS; i++) {
                        Request q = requests.get(i);
                        List<float[]> rows = new ArrayList<>();
                        GenerationResult want = alone.submit(q.prompt(), q.sampling(), null, rows::add).result().join();
                        GenerationResult got = handles.get(i).result().join();
                        String what = policy + " request " + i + " (prompt " + q.prompt().length + ")";
                        assertArrayEquals(want.generatedIds(), got.generatedIds(), what + ": ids");
                        assertEquals(want.stopReason(), got.stopReason(), what);
                        assertEquals(rows.size(), logits.get(i).size(), what);
                        for (int k = 0; k < rows.size(); k++) {
                            assertArrayEquals(rows.get(k), logits.get(i).get(k), what + ": logits of step " + k);
                        }
                    }
                }
            }
        }
    }

    @Test
    void aPlanOnACatalogDeviceIsRefusedNamingIt() {
        try (Model model = Model.load(SharedData.model("stories260K.bin"))) {
            Plan plan = compile(model, "h100", Policy.SINGLE, 1, 8, CONTEXT);
            DeviceUnavailableException e = assertThrows(DeviceUnavailableException.class,
                    () -> Engine.open(model, plan, EngineConfig.defaults(CONTEXT)).close());
            assertTrue(e.getMessage().contains("catalog device"), e.getMessage());
        }
    }

    /** Every logits row the request sampled from equals ReferenceForward's at the same step. */
    static void assertLogitsAreTheReferences(Model model, int[] prompt, int[] generated, List<float[]> rows, String what) {
        assertEquals(generated.length, rows.size(), what + ": one logits row per sampled token");
        ReferenceForward ref = new ReferenceForward(model.config(), model.weights(), model.ropeInvFreq(), CONTEXT,
                ReferenceForward.DEFAULT_PREFILL_CHUNK);
        float[] expected = ref.prefill(prompt, 0);
        for (int k = 0; k < rows.size(); k++) {
            if (k > 0) {
                expected = ref.forward(generated[k - 1], prompt.length + k - 1);
            }
            assertArrayEquals(expected, rows.get(k), what + ": logits of step " + k);
        }
    }

    /** Prompts of 1 to 40 ids, 1 to 16 new tokens; every fifth request samples at a temperature with its own seed. */
    private static List<Request> requests(int vocab, Random r) {
        List<Request> list = new ArrayList<>();
        for (int i = 0; i < REQUESTS; i++) {
            int[] prompt = new int[1 + r.nextInt(i % 5 == 0 ? 40 : 12)];
            prompt[0] = 1;
            for (int j = 1; j < prompt.length; j++) {
                prompt[j] = 3 + r.nextInt(vocab - 3);
            }
            Sampling s = (i % 5 == 0 ? Sampling.temperature(0.8f, i) : Sampling.greedy()).maxTokens(1 + r.nextInt(16)).stopAtEos(false);
            list.add(new Request(prompt, s));
        }
        return list;
    }
}
