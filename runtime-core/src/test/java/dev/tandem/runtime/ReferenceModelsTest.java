package dev.tandem.runtime;

import dev.tandem.conformance.SharedData;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.kernels.KernelConfig;
import dev.tandem.runtime.exec.ReferenceForward;
import dev.tandem.runtime.generate.Sampling;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * stories260K in every shipped format against ../shared/reference: greedy ids and the logits after
 * the prompt. The references come from an independent float64 implementation.
 */
class ReferenceModelsTest {

    /**
     * Logits tolerance of Q8_0/Q4_0 when their activations are quantized to 8-bit blocks
     * (tandem.quantDot=int8, the default). Rounding an activation to its block's step d = max|x|/127
     * moves it by at most d/2, an RMS relative error of about (max/rms)/(254*sqrt 3) ~ 0.5-1 % per
     * matmul input for stories260K's peaky 64-wide activations; 7 quantized matmul inputs per layer over
     * 5 layers then the classifier compound to the 3.5-8 % measured here, so 0.1. At that error the
     * greedy ids cannot follow the float64 reference: its top two logits after BOS are 0.04 apart,
     * about a third of the per-logit error. The reference's ids are checked under
     * tandem.quantDot=float (runtime-core's float-quant-dot surefire execution), with the
     * original tolerance.
     */
    static final double INT8_ACTIVATION_LOGIT_TOLERANCE = 0.1;

    static boolean activationsQuantized(String modelFile) {
        return KernelConfig.integerDot() && (modelFile.contains("q8_0") || modelFile.contains("q4_0"));
    }

    @ParameterizedTest(name = "{0} vs {1}")
    @CsvSource({
            "stories260K.bin,       stories260K.bin.json,       1e-4, true",
            "stories260K-f32.gguf,  stories260K.bin.json,       1e-4, true",
            "stories260K-f16.gguf,  stories260K-f16.gguf.json,  1e-3, true",
            "stories260K-q8_0.gguf, stories260K-q8_0.gguf.json, 2e-2, false",
            "stories260K-q4_0.gguf, stories260K-q4_0.gguf.json, 2e-2, false",
    })
    void matchesReference(String modelFile, String referenceFile, double logitTolerance, boolean idsMustMatch) {
        JsonNode ref = SharedData.reference(referenceFile);
        boolean int8 = activationsQuantized(modelFile);
        double tolerance = int8 ? INT8_ACTIVATION_LOGIT_TOLERANCE : logitTolerance;
        try (Model model = Model.load(SharedData.model(modelFile))) {
            for (JsonNode c : ref.get("cases")) {
                int[] prompt = SharedData.ints(c.get("prompt_ids"));
                int[] expectedIds = SharedData.ints(c.get("greedy_ids"));
                double[] expectedLogits = SharedData.doubles(c.get("logits_after_prompt"));
                try (Session session = Tandem.open(model)) {
                    GenerationResult r = session.generate(prompt,
                            Sampling.greedy().maxTokens(expectedIds.length).stopAtEos(false), null);
                    double err = SharedData.relativeL2(r.promptLogits(), expectedLogits);
                    assertTrue(err <= tolerance, modelFile + " prompt " + Arrays.toString(prompt)
                            + ": logits relative L2 error " + err + " > " + tolerance);
                    if (int8) {
                        // The first token is still one the reference ranks among its top three.
                        int first = r.generatedIds()[0];
                        long higher = Arrays.stream(expectedLogits).filter(v -> v > expectedLogits[first]).count();
                        assertTrue(higher < 3, modelFile + ": first id " + first + " is ranked " + (higher + 1) + " by the reference");
                    } else if (idsMustMatch) {
                        assertArrayEquals(expectedIds, r.generatedIds(), modelFile + " prompt " + Arrays.toString(prompt));
                    } else {
                        // Quantized: the reference's float64 math can break near-ties differently, so
                        // require agreement on the leading tokens only.
                        int agree = 0;
                        while (agree < expectedIds.length && expectedIds[agree] == r.generatedIds()[agree]) {
                            agree++;
                        }
                        assertTrue(agree >= 16, modelFile + ": only the first " + agree + " greedy ids agree");
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"stories260K.bin", "stories260K-f16.gguf", "stories260K-q8_0.gguf", "stories260K-q4_0.gguf"})
    void prefillMatmulsMatchTokenByTokenDecode(String modelFile) {
        // The prompt runs as batched matmuls in chunks; the same positions one by one must agree.
        try (Model model = Model.load(SharedData.model(modelFile))) {
            int[] prompt = new int[37];
            java.util.Random random = new java.util.Random();
            long seed = random.nextLong();
            random.setSeed(seed);
            prompt[0] = 1;
            for (int i = 1; i < prompt.length; i++) {
                prompt[i] = random.nextInt(model.config().vocabSize());
            }
            ReferenceForward batched = new ReferenceForward(model.config(), model.weights(), model.ropeInvFreq(), 64, 16);
            float[] a = batched.prefill(prompt, 0).clone();
            ReferenceForward single = new ReferenceForward(model.config(), model.weights(), model.ropeInvFreq(), 64, 16);
            float[] b = null;
            for (int i = 0; i < prompt.length; i++) {
                b = single.forward(prompt[i], i);
            }
            double[] expected = new double[b.length];
            for (int i = 0; i < b.length; i++) {
                expected[i] = b[i];
            }
            // Gemm and matvec sum in different orders, so fp32 rounding differs (seen up to 1.2e-5 on
            // Q8_0); a wrong position, cache row or causal mask gives errors of 1e-2 and more.
            double err = SharedData.relativeL2(a, expected);
            assertTrue(err < 1e-4, "seed " + seed + ": prefill vs decode relative L2 " + err);
            // And decode continues from either cache to the same logits.
            float[] next = single.forward(5, prompt.length).clone();
            double[] nextExpected = new double[next.length];
            for (int i = 0; i < next.length; i++) {
                nextExpected[i] = next[i];
            }
            double nextErr = SharedData.relativeL2(batched.forward(5, prompt.length), nextExpected);
            assertTrue(nextErr < 1e-4, "seed " + seed + ": next decode step after prefill vs decode, relative L2 " + nextErr);
        }
    }
}
