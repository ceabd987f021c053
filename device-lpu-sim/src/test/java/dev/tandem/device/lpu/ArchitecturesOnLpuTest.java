package dev.tandem.device.lpu;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.Devices;
import dev.tandem.runtime.device.UnsupportedBlockException;
import dev.tandem.runtime.exec.PlanForward;
import dev.tandem.conformance.ArchitecturesLlamaCppOracle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The architectures on the emulated LPU. A mixture of experts whose attention is Llama's runs
 * through the LPU's fused attention program and the SPI's default mixture block (router and experts as
 * the LPU's single-op programs, routing on the host) and must match llama.cpp like the CPU does.
 * Attention with QKV biases, QK-norm or its own head width is refused before anything is placed:
 * the fused program computes the Llama block only.
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

    @Test
    void attentionTheFusedProgramDoesNotComputeIsRefused() {
        for (String file : new String[] {"qwen2-f32.gguf", "qwen3-f32.gguf"}) {
            try (Model model = Model.load(ArchitecturesLlamaCppOracle.path(file));
                 Device lpu = Devices.open("lpu")) {
                UnsupportedBlockException e = assertThrows(UnsupportedBlockException.class, () -> PlanForward.onDevice(lpu,
                        model.config(), model.weights(), model.ropeInvFreq(), 16, 4));
                assertTrue(e.getMessage().contains(file.startsWith("qwen2") ? "QKV biases" : "QK-norm"), e.getMessage());
            }
        }
    }

    static ArchitecturesLlamaCppOracle.Steps stepsOf(dev.tandem.runtime.exec.Forward f) {
        return new ArchitecturesLlamaCppOracle.Steps() {
            @Override public float[] prefill(int[] prompt) { return f.prefill(prompt, 0); }
            @Override public float[] forward(int token, int pos) { return f.forward(token, pos); }
        };
    }
}
