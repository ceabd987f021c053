package dev.tandem.runtime.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.Session;
import dev.tandem.runtime.Tandem;
import dev.tandem.runtime.exec.ReferenceForward;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The embedded default model against llama.cpp (tools/train-default-model/llama-cpp-reference):
 * the same file, the same tokenization, and logits within a tolerance on llama.cpp's greedy path.
 *
 * <p>Steps are fed llama.cpp's ids, so one differing choice cannot cascade. Why the logits differ
 * at all: llama.cpp quantizes activations to Q8_0 for its Q8_0 matmuls, keeps the KV cache in f16
 * and sums in other orders. Measured on this model: at most {@value #MEASURED} of a step's logit
 * spread (max - min), the worst of Tandem's two Q8_0 paths (8-bit activations by default, fp32 with
 * -Dtandem.quantDot=float); the tolerance is 3x that. A greedy id is compared where llama.cpp's top
 * two logits are more than twice the tolerance apart. Measured again whenever the model is retrained
 * (the test prints it).
 */
class DefaultModelLlamaCppTest {
    private static final double MEASURED = 0.0036;
    private static final double TOLERANCE = 3 * MEASURED;
    private static final JsonNode ORACLE = oracle();

    private static JsonNode oracle() {
        try (InputStream in = DefaultModelLlamaCppTest.class.getResourceAsStream("/default-model/llama-cpp.json")) {
            return new ObjectMapper().readTree(Objects.requireNonNull(in, "default-model/llama-cpp.json is missing"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void theReferencesAreOfTheEmbeddedFile() throws IOException, NoSuchAlgorithmException {
        try (InputStream in = EmbeddedModel.class.getResourceAsStream(EmbeddedModel.RESOURCE)) {
            byte[] bytes = Objects.requireNonNull(in, EmbeddedModel.RESOURCE).readAllBytes();
            String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
            assertEquals(ORACLE.get("model_sha256").asText(), sha,
                    "the embedded model changed: rerun tools/train-default-model/llama-cpp-reference");
        }
    }

    @Test
    void tokenizationEqualsLlamaCpp() {
        try (Model model = Model.embedded()) {
            for (JsonNode t : ORACLE.get("tokenizations")) {
                String text = t.get("text").asText();
                assertArrayEquals(ids(t.get("ids")), model.encode(text), "tokens of \"" + text + "\"");
            }
        }
    }

    @Test
    void logitsOnLlamaCppsGreedyPathAreWithinTolerance() {
        double worst = 0;
        try (Model model = Model.embedded()) {
            int vocab = model.config().vocabSize();
            for (JsonNode run : ORACLE.get("runs")) {
                int[] prompt = ids(run.get("prompt"));
                String what = "\"" + run.get("text").asText() + "\"";
                assertArrayEquals(prompt, model.encode(run.get("text").asText()), what);
                JsonNode steps = run.get("steps");
                try (ReferenceForward fwd = new ReferenceForward(model.config(), model.weights(), model.ropeInvFreq(),
                        prompt.length + steps.size(), ReferenceForward.DEFAULT_PREFILL_CHUNK)) {
                    float[] logits = fwd.prefill(prompt, 0);
                    for (int k = 0; k < steps.size(); k++) {
                        JsonNode s = steps.get(k);
                        if (k > 0) {
                            logits = fwd.forward(steps.get(k - 1).get("id").asInt(), prompt.length + k - 1);
                        }
                        double spread = s.get("max").asDouble() - s.get("min").asDouble();
                        String at = what + " step " + k;
                        if (s.has("logits")) {
                            JsonNode all = s.get("logits");
                            assertEquals(vocab, all.size());
                            for (int i = 0; i < vocab; i++) {
                                double d = Math.abs(logits[i] - all.get(i).asDouble()) / spread;
                                worst = Math.max(worst, d);
                                assertTrue(d <= TOLERANCE, at + " id " + i + ": Tandem " + logits[i] + ", llama.cpp " + all.get(i));
                            }
                        }
                        JsonNode top = s.get("top");
                        for (JsonNode e : top) {
                            int id = e.get(0).asInt();
                            double d = Math.abs(logits[id] - e.get(1).asDouble()) / spread;
                            worst = Math.max(worst, d);
                            assertTrue(d <= TOLERANCE, at + " id " + id + ": Tandem " + logits[id] + ", llama.cpp " + e.get(1));
                        }
                        double gap = (top.get(0).get(1).asDouble() - top.get(1).get(1).asDouble()) / spread;
                        if (gap > 2 * TOLERANCE) {
                            assertEquals(s.get("id").asInt(), argmax(logits, vocab), at + ": greedy id");
                        }
                    }
                }
            }
        }
        System.out.println("DefaultModelLlamaCppTest: worst |Tandem - llama.cpp| = " + worst + " of the spread");
    }

    @Test
    void freeRunningGreedyIdsEqualLlamaCppsUpToTheFirstNearTie() {
        int total = 0;
        try (Model model = Model.embedded(); Session session = Tandem.open(model)) {
            for (JsonNode run : ORACLE.get("runs")) {
                JsonNode steps = run.get("steps");
                int[] got = session.generate(ids(run.get("prompt")), Sampling.greedy().maxTokens(steps.size()).stopAtEos(false), null)
                        .generatedIds();
                int compared = 0;
                for (int k = 0; k < steps.size(); k++) {
                    JsonNode top = steps.get(k).get("top");
                    double spread = steps.get(k).get("max").asDouble() - steps.get(k).get("min").asDouble();
                    if ((top.get(0).get(1).asDouble() - top.get(1).get(1).asDouble()) / spread <= 2 * TOLERANCE) {
                        break;
                    }
                    assertEquals(steps.get(k).get("id").asInt(), got[k], "\"" + run.get("text").asText() + "\" step " + k);
                    compared++;
                }
                total += compared;
            }
        }
        // This small model soon meets near-ties (llama.cpp's top two within the margin), past which
        // either choice is right; the teacher-forced test above compares every step.
        assertTrue(total >= 12, "only " + total + " greedy steps before a near-tie: the references compare too little");
    }

    private static int argmax(float[] x, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }

    private static int[] ids(JsonNode a) {
        int[] ids = new int[a.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = a.get(i).asInt();
        }
        return ids;
    }
}
