package dev.tandem.device.lpu;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.Devices;
import dev.tandem.runtime.exec.PlanForward;
import dev.tandem.conformance.ArchitecturesLlamaCppOracle;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The architectures on the emulated LPU. A mixture of experts whose attention is Llama's runs
 * through the LPU's fused attention program and its MoE block program ({@link LpuMoeFfnBlock}: routing
 * on chip, the chosen experts streamed by index) and must match llama.cpp like the CPU does; so must
 * the Qwen architectures, whose QKV biases, QK-norm and head width the fused attention program adds.
 */
class ArchitecturesOnLpuTest {

    /** Mixtral's files (its Q8_0 one only under the default 8-bit activations, see ArchitecturesLlamaCppOracle#files). */
    static java.util.List<String> mixtral() {
        return ArchitecturesLlamaCppOracle.files().stream().filter(f -> f.startsWith("mixtral")).toList();
    }

    @ParameterizedTest
    @MethodSource("mixtral")
    void mixtureRunsOnTheLpuAndMatchesLlamaCpp(String file) {
        JsonNode m = ArchitecturesLlamaCppOracle.entry(file);
        int[] prompt = ArchitecturesLlamaCppOracle.ints(m.get("prompt"));
        JsonNode steps = m.get("steps");
        try (Model model = Model.load(ArchitecturesLlamaCppOracle.path(file));
             Device lpu = Devices.open("lpu");
             PlanForward fwd = PlanForward.onDevice(lpu, model.config(), model.weights(), model.ropeInvFreq(),
                     prompt.length + steps.size(), 4)) {
            int compared = ArchitecturesLlamaCppOracle.compareSteps(file + " on the LPU", stepsOf(fwd), prompt, steps,
                    ArchitecturesLlamaCppOracle.tolerance(m));
            assertTrue(compared >= 1, file + ": no clear-cut step");
        }
    }

    /** Qwen2's biases and Qwen3's QK-norm and own head width run in the fused attention program (once refused). */
    @ParameterizedTest
    @CsvSource({"qwen2-f32.gguf", "qwen3-f32.gguf", "qwen2moe-f32.gguf", "qwen3moe-f32.gguf"})
    void attentionWithTheQwenOptionsRunsOnTheLpuAndMatchesLlamaCpp(String file) {
        mixtureRunsOnTheLpuAndMatchesLlamaCpp(file);
    }

    static ArchitecturesLlamaCppOracle.Steps stepsOf(dev.tandem.runtime.exec.Forward f) {
        return new ArchitecturesLlamaCppOracle.Steps() {
            @Override public float[] prefill(int[] prompt) { return f.prefill(prompt, 0); }
            @Override public float[] forward(int token, int pos) { return f.forward(token, pos); }
        };
    }
}
