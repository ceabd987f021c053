package dev.tandem.runtime.engine;

import dev.tandem.conformance.SharedData;
import dev.tandem.runtime.GenerationResult;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.Session;
import dev.tandem.runtime.Tandem;
import dev.tandem.runtime.Token;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.Devices;
import dev.tandem.runtime.exec.ReferenceForward;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * 64 requests with different prompts, lengths and sampling, submitted from 8 threads at once: each
 * one's ids and every logits row it sampled from are bit for bit its single-stream run's (a
 * {@link Session} for the ids, {@link ReferenceForward} step by step for the logits), whatever shared
 * its steps, with chunked prefill (a budget of 40 tokens a step), odd KV blocks, and, with the tight
 * pool, preemption by recompute.
 */
class BatchInvarianceTest {
    private static final int REQUESTS = 64, CONTEXT = 96;

    record Request(int[] prompt, Sampling sampling) {}

    @ParameterizedTest(name = "{0}, {1} KV blocks of {2}")
    @CsvSource({"embedded, 0, 5", "stories260K.bin, 0, 16", "stories260K.bin, 24, 7", "embedded, 20, 7", "Q8_0, 0, 16", "Q4_0, 0, 5"})
    void concurrentRequestsMatchTheirSingleStreamRuns(String modelName, int kvBlocks, int blockSize) throws Exception {
        try (Model model = open(modelName);
             Device cpu = Devices.open("cpu")) {
            List<Request> requests = requests(model.config().vocabSize(), new Random(modelName.hashCode() + kvBlocks));
            EngineConfig config = EngineConfig.defaults(CONTEXT).blockSize(blockSize).kvBlocks(kvBlocks)
                    .maxBatchTokens(40).maxSequences(REQUESTS).queueCapacity(REQUESTS);
            List<RequestHandle> handles = new ArrayList<>(java.util.Collections.nCopies(REQUESTS, null));
            List<List<float[]>> logits = new ArrayList<>();
            List<List<Token>> streamed = new ArrayList<>();
            for (int i = 0; i < REQUESTS; i++) {
                logits.add(new CopyOnWriteArrayList<>());
                streamed.add(new CopyOnWriteArrayList<>());
            }
            long preemptions;
            try (Engine engine = Engine.open(model, cpu, config)) {
                ExecutorService submitters = Executors.newFixedThreadPool(8);
                CountDownLatch start = new CountDownLatch(1);
                List<Future<?>> submitted = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    int first = t;
                    submitted.add(submitters.submit(() -> {
                        start.await();
                        for (int i = first; i < REQUESTS; i += 8) {
                            Request q = requests.get(i);
                            handles.set(i, engine.submit(q.prompt(), q.sampling(), streamed.get(i)::add, logits.get(i)::add));
                        }
                        return null;
                    }));
                }
                start.countDown();
                for (Future<?> f : submitted) {
                    f.get();
                }
                submitters.shutdown();
                for (RequestHandle h : handles) {
                    h.result().join();
                }
                preemptions = engine.preemptions();
                assertEquals(engine.pool().blocks(), engine.freeKvBlocks(), "every block is back in the pool");
            }
            if (kvBlocks > 0) {
                assertTrue(preemptions > 0, "the tight pool should have forced preemption");
            }
            try (Session session = Tandem.open(model, CONTEXT)) {
                for (int i = 0; i < REQUESTS; i++) {
                    Request q = requests.get(i);
                    GenerationResult got = handles.get(i).result().join();
                    GenerationResult want = session.generate(q.prompt(), q.sampling(), null);
                    String what = modelName + " request " + i + " (prompt " + q.prompt().length + ")";
                    assertArrayEquals(want.generatedIds(), got.generatedIds(), what + ": ids");
                    assertEquals(want.stopReason(), got.stopReason(), what);
                    assertArrayEquals(want.promptLogits(), got.promptLogits(), what + ": prompt logits");
                    assertEquals(got.generatedIds().length, streamed.get(i).size(), what + ": streamed tokens");
                    for (int k = 0; k < streamed.get(i).size(); k++) {
                        assertEquals(got.generatedIds()[k], streamed.get(i).get(k).id(), what);
                        assertEquals(q.prompt().length + k, streamed.get(i).get(k).position(), what);
                    }
                    assertLogitsAreTheReferences(model, q.prompt(), got.generatedIds(), logits.get(i), what);
                }
            }
        }
    }

    /**
     * The embedded F32 model, a shared model file, or (Q8_0, Q4_0) a small synthetic GGUF of that type,
     * whose matrices take the integer-dot kernels: one activation quantization for Q, K and V.
     */
    private static Model open(String name) throws java.io.IOException {
        if (name.equals("embedded")) {
            return Model.synthetic();
        }
        if (name.startsWith("Q")) {
            java.nio.file.Path file = java.nio.file.Files.createTempFile("batch-invariance-" + name, ".gguf");
            file.toFile().deleteOnExit();
            dev.tandem.runtime.model.SyntheticCheckpoint.write(file,
                    new dev.tandem.runtime.model.LlamaConfig(64, 160, 2, 4, 2, 96, CONTEXT, 1e-5f, 10000f, null),
                    dev.tandem.runtime.format.GgmlType.valueOf(name), 7);
            return Model.load(file);
        }
        return Model.load(SharedData.model(name));
    }

    /** Every logits row the request sampled from equals ReferenceForward's at the same step. */
    private static void assertLogitsAreTheReferences(Model model, int[] prompt, int[] generated, List<float[]> rows, String what) {
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

    /** Prompts of 1 to 70 ids, 1 to 24 new tokens; every fifth request samples at a temperature with its own seed. */
    private static List<Request> requests(int vocab, Random r) {
        List<Request> list = new ArrayList<>();
        for (int i = 0; i < REQUESTS; i++) {
            int[] prompt = new int[1 + r.nextInt(i % 7 == 0 ? 70 : 20)];
            prompt[0] = 1;
            for (int j = 1; j < prompt.length; j++) {
                prompt[j] = 3 + r.nextInt(vocab - 3);
            }
            Sampling s = (i % 5 == 0 ? Sampling.temperature(0.8f, i) : Sampling.greedy())
                    .maxTokens(1 + r.nextInt(24)).stopAtEos(false);
            list.add(new Request(prompt, s));
        }
        return list;
    }
}
