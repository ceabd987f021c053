package dev.tandem.device.lpu;

import dev.tandem.conformance.SharedData;
import dev.tandem.runtime.GenerationResult;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.Session;
import dev.tandem.runtime.Tandem;
import dev.tandem.runtime.engine.Engine;
import dev.tandem.runtime.engine.EngineConfig;
import dev.tandem.runtime.engine.RequestHandle;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The batching engine on an emulated LPU: continuous batching puts prefill chunks of new requests and
 * decode rows of running ones into the same steps, each step one paged attention program. Every
 * request gets bit for bit the prompt logits and the ids it gets alone on the same chip, and the ids
 * of its single-stream CPU run.
 */
class LpuEngineTest {
    private static final int REQUESTS = 10, CONTEXT = 48, STEPS = 8;

    private static List<GenerationResult> serve(Model model, EngineConfig config, List<int[]> prompts) {
        try (LpuDevice lpu = new LpuDevice(ChipConfig.LP30, 0, null); Engine engine = Engine.open(model, lpu, config)) {
            List<RequestHandle> handles = new ArrayList<>();
            for (int[] p : prompts) {
                handles.add(engine.submit(p, Sampling.greedy().maxTokens(STEPS).stopAtEos(false), null));
            }
            List<GenerationResult> results = handles.stream().map(h -> h.result().join()).toList();
            assertEquals(engine.pool().blocks(), engine.freeKvBlocks(), "every block is back in the pool");
            return results;
        }
    }

    @Test
    void mixedStepsOnAnLpuGiveEachRequestWhatItGetsAlone() {
        try (Model model = Model.load(SharedData.model("stories260K.bin"))) {
            Random r = new Random(11);
            List<int[]> prompts = new ArrayList<>();
            for (int i = 0; i < REQUESTS; i++) {
                int[] p = new int[1 + r.nextInt(30)];
                p[0] = 1;
                for (int k = 1; k < p.length; k++) {
                    p[k] = 2 + r.nextInt(model.config().vocabSize() - 2);
                }
                prompts.add(p);
            }
            // Odd blocks of 5 and 12 tokens a step: prompts split into chunks that start mid-block, beside decode rows.
            List<GenerationResult> mixed = serve(model, EngineConfig.defaults(CONTEXT).blockSize(5).maxBatchTokens(12)
                    .maxSequences(REQUESTS), prompts);
            List<GenerationResult> alone = serve(model, EngineConfig.defaults(CONTEXT).blockSize(5).maxBatchTokens(64)
                    .maxSequences(1), prompts);
            try (Session cpu = Tandem.open(model, CONTEXT)) {
                for (int i = 0; i < REQUESTS; i++) {
                    String what = "request " + i + " (prompt " + prompts.get(i).length + ")";
                    assertArrayEquals(alone.get(i).promptLogits(), mixed.get(i).promptLogits(), what + ": prompt logits");
                    assertArrayEquals(alone.get(i).generatedIds(), mixed.get(i).generatedIds(), what + ": ids");
                    assertEquals(STEPS, mixed.get(i).generatedIds().length, what);
                    assertArrayEquals(cpu.generate(prompts.get(i), Sampling.greedy().maxTokens(STEPS).stopAtEos(false), null)
                            .generatedIds(), mixed.get(i).generatedIds(), what + ": ids against the CPU's single stream");
                }
            }
        }
    }
}
