package dev.tandem.device.lpu;

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
import dev.tandem.runtime.engine.Engine;
import dev.tandem.runtime.engine.EngineConfig;
import dev.tandem.runtime.engine.PlanStats;
import dev.tandem.runtime.engine.RequestHandle;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The serving engine on plans with emulated LPUs: 32 requests of different prompts and lengths,
 * submitted from four threads, continuously batched (prefill chunks mixed with decode rows) through
 * the plan's stages. Every request's greedy ids and prompt logits equal its single-stream run's;
 * every attention and FFN block on an emulated chip takes exactly the cycles its cost provider
 * predicts for the rows it ran; on afd the decode rows ping-pong as two micro-batches; on disagg
 * each sequence's KV rows move from the cpu to the chips once its prefill is done.
 */
class EnginePlanOnLpuTest {
    private static final int REQUESTS = 32, CONTEXT = 48;

    @ParameterizedTest(name = "{1} on {0}")
    @CsvSource({"cpu;lp30*2, AFD, 0", "cpu;lp30*2, DISAGG, 0", "lp30*2, LPU_ONLY, 0", "cpu;lp30*2, AFD, 10"})
    void concurrentRequestsMatchTheirSingleStreamRunsAtExactCycles(String pool, Policy policy, int kvBlocks) throws Exception {
        try (Model m = Model.load(SharedData.model("stories260K.bin"))) {
            Plan plan = Compiler.withInstalledProviders().compile(ModelGraph.of(m), PoolParser.parse(pool.replace(';', ','), new Catalog()),
                    new Workload(16, 16, CONTEXT), policy, Objective.lowestTpot());
            Random r = new Random(5);
            int vocab = m.config().vocabSize();
            int[][] prompts = new int[REQUESTS][];
            Sampling[] sampling = new Sampling[REQUESTS];
            for (int i = 0; i < REQUESTS; i++) {
                prompts[i] = new int[1 + r.nextInt(i % 4 == 0 ? 30 : 10)];
                prompts[i][0] = 1;
                for (int j = 1; j < prompts[i].length; j++) {
                    prompts[i][j] = 3 + r.nextInt(vocab - 3);
                }
                sampling[i] = Sampling.greedy().maxTokens(1 + r.nextInt(12)).stopAtEos(false);
            }
            EngineConfig config = EngineConfig.defaults(CONTEXT).blockSize(8).kvBlocks(kvBlocks).maxSequences(16).maxBatchTokens(24)
                    .queueCapacity(REQUESTS);
            List<RequestHandle> handles = new ArrayList<>(Collections.nCopies(REQUESTS, null));
            PlanStats stats;
            Map<String, Double> busy;
            try (Engine engine = Engine.open(m, plan, config)) {
                ExecutorService submitters = Executors.newFixedThreadPool(4);
                List<Future<?>> submitted = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    int first = t;
                    submitted.add(submitters.submit(() -> {
                        for (int i = first; i < REQUESTS; i += 4) {
                            handles.set(i, engine.submit(prompts[i], sampling[i], null));
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
                busy = engine.deviceBusySeconds();
            }
            assertEquals(0, stats.inexactBlocks(), stats.firstInexact());
            assertNull(stats.firstInexact());
            assertTrue(stats.exactBlocks() > 0, "blocks ran on the chips and were judged: " + stats);
            assertTrue(stats.decodeSteps() > 0 && stats.predictedSeconds() > 0, stats.toString());
            if (policy == Policy.AFD) {
                assertTrue(stats.microBatchedSteps() > 0, "decode steps of two rows or more ping-pong: " + stats);
            }
            assertTrue(busy.values().stream().allMatch(s -> s > 0), "every device worked: " + busy);
            assertTrue(busy.keySet().stream().anyMatch(k -> k.startsWith("lp30")), busy.toString());
            try (Session session = Tandem.open(m, CONTEXT)) {
                for (int i = 0; i < REQUESTS; i++) {
                    GenerationResult got = handles.get(i).result().join();
                    GenerationResult want = session.generate(prompts[i], sampling[i], null);
                    String what = policy + " request " + i + " (prompt " + prompts[i].length + ")";
                    assertArrayEquals(want.generatedIds(), got.generatedIds(), what + ": ids");
                    assertArrayEquals(want.promptLogits(), got.promptLogits(), what + ": prompt logits");
                }
            }
        }
    }
}
