package dev.tandem.runtime.exec;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.runtime.GenerationResult;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.Devices;
import dev.tandem.runtime.engine.Engine;
import dev.tandem.runtime.engine.EngineConfig;
import dev.tandem.conformance.ArchitecturesLlamaCppOracle;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every architecture through the device SPI, against llama.cpp: the one-device plan
 * ({@link PlanForward#onDevice}) on the CPU device (its own paged attention, the primitive blocks
 * otherwise) and on the scalar test backend (every block the SPI's primitive default: the QKV
 * options as primitive ops, the mixture as {@code PrimitiveMoeFfn}), with the tolerances of
 * ArchitecturesLlamaCppTest; and the batching engine (paged attention, mixture over rows of several
 * sequences) against the reference forward pass's greedy ids.
 */
class ArchitecturesOnDevicesTest {

    @ParameterizedTest(name = "{0} on {1}")
    @CsvSource({
            "qwen2-f32.gguf, cpu", "qwen2-f32.gguf, scalar-test",
            "qwen3-f32.gguf, cpu", "qwen3-f32.gguf, scalar-test",
            "mixtral-f32.gguf, cpu", "mixtral-f32.gguf, scalar-test",
            "qwen2moe-f32.gguf, cpu", "qwen2moe-f32.gguf, scalar-test",
            "qwen3moe-f32.gguf, cpu", "qwen3moe-q4_k.gguf, cpu",
            "llama31-f32.gguf, scalar-test",
    })
    void planOnOneDeviceMatchesLlamaCpp(String file, String deviceName) {
        JsonNode m = ArchitecturesLlamaCppOracle.entry(file);
        int[] prompt = ArchitecturesLlamaCppOracle.ints(m.get("prompt"));
        JsonNode steps = m.get("steps");
        double tolerance = ArchitecturesLlamaCppOracle.tolerance(m);
        try (Model model = Model.load(ArchitecturesLlamaCppOracle.path(file));
             Device device = Devices.open(deviceName);
             PlanForward fwd = PlanForward.onDevice(device, model.config(), model.weights(), model.ropeInvFreq(),
                     prompt.length + steps.size(), 4)) {  // chunks of 4: prefill runs batches of rows through every block
            int compared = ArchitecturesLlamaCppOracle.compareSteps(file + " on " + deviceName, stepsOf(fwd), prompt, steps, tolerance);
            assertTrue(compared >= 1, file + ": no clear-cut step");
        }
    }

    @ParameterizedTest(name = "{0} on {1}")
    @CsvSource({"qwen2moe-f32.gguf, cpu", "qwen3moe-f32.gguf, scalar-test", "qwen3-f32.gguf, scalar-test", "mixtral-f32.gguf, cpu"})
    void engineBatchesEveryArchitectureLikeTheReference(String file, String deviceName) {
        int[][] prompts = {{1, 75, 104, 101}, {1, 40, 50, 60, 70, 80}, {1, 200}};
        int steps = 6;
        try (Model model = Model.load(ArchitecturesLlamaCppOracle.path(file));
             Device device = Devices.open(deviceName);
             Engine engine = Engine.open(model, device, EngineConfig.defaults(64).maxSequences(4))) {
            var handles = new java.util.ArrayList<dev.tandem.runtime.engine.RequestHandle>();
            for (int[] p : prompts) {
                handles.add(engine.submit(p, Sampling.greedy().maxTokens(steps).stopAtEos(false), null));
            }
            for (int i = 0; i < prompts.length; i++) {
                GenerationResult r = handles.get(i).result().join();
                assertArrayEquals(referenceIds(model, prompts[i], steps), r.generatedIds(),
                        file + " on " + deviceName + ": sequence " + i + " batched with the others");
            }
        }
    }

    private static int[] referenceIds(Model model, int[] prompt, int steps) {
        try (ReferenceForward ref = new ReferenceForward(model.config(), model.weights(), model.ropeInvFreq(),
                prompt.length + steps, ReferenceForward.DEFAULT_PREFILL_CHUNK)) {
            int[] ids = new int[steps];
            float[] logits = ref.prefill(prompt, 0);
            for (int s = 0; s < steps; s++) {
                ids[s] = ArchitecturesLlamaCppOracle.argmax(logits);
                if (s + 1 < steps) {
                    logits = ref.forward(ids[s], prompt.length + s);
                }
            }
            return ids;
        }
    }

    static ArchitecturesLlamaCppOracle.Steps stepsOf(dev.tandem.runtime.exec.Forward f) {
        return new ArchitecturesLlamaCppOracle.Steps() {
            @Override public float[] prefill(int[] prompt) { return f.prefill(prompt, 0); }
            @Override public float[] forward(int token, int pos) { return f.forward(token, pos); }
        };
    }
}
