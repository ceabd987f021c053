package dev.tandem.device.gpu.opencl;

import dev.tandem.runtime.GenerationResult;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.Session;
import dev.tandem.runtime.Tandem;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The embedded default model (Q8_0) loads on OpenCL and computes what the CPU computes. */
class OpenClEmbeddedModelTest {
    @Test
    void theEmbeddedModelRunsOnOpenClAsOnTheCpu() {
        try (Model model = Model.embedded(); OpenClDevice device = OpenClTestDevices.openFirst()) {
            int[] prompt = model.encode("In the beginning");
            Sampling greedy = Sampling.greedy().maxTokens(4).stopAtEos(false);
            GenerationResult cpu, gpu;
            try (Session s = Tandem.open(model, 64)) {
                cpu = s.generate(prompt, greedy, null);
            }
            try (Session s = Tandem.open(model, device, 64)) {
                gpu = s.generate(prompt, greedy, null);
            }
            float[] a = cpu.promptLogits(), b = gpu.promptLogits();
            double num = 0, den = 0;
            for (int i = 0; i < a.length; i++) {
                num += (a[i] - b[i]) * (double) (a[i] - b[i]);
                den += a[i] * (double) a[i];
            }
            double rel = Math.sqrt(num / den);
            assertTrue(rel < 1e-2, "relative L2 of the prompt logits, OpenCL vs CPU: " + rel);
            assertEquals(cpu.generatedIds()[0], gpu.generatedIds()[0], "the first greedy id");
        }
    }
}
