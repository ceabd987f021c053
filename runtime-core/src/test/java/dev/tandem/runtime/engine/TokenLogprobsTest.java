package dev.tandem.runtime.engine;

import dev.tandem.runtime.GenerationResult;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.Session;
import dev.tandem.runtime.Tandem;
import dev.tandem.runtime.Token;
import dev.tandem.runtime.TokenLogprobs;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.Devices;
import dev.tandem.runtime.exec.ReferenceForward;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Token log-probabilities: what the engine and a session attach to each token equals a direct
 * log-softmax (double precision, the textbook formula) of the reference forward's logits at that
 * step, for the chosen id and for the top ids, which come most likely first.
 */
class TokenLogprobsTest {
    private static final int TOP = 5;
    private static final double TOLERANCE = 1e-5;

    @Test
    void engineTokensCarryTheLogSoftmaxOfTheReferenceLogits() {
        try (Model model = Model.embedded(); Device cpu = Devices.open("cpu");
             Engine engine = Engine.open(model, cpu, EngineConfig.defaults(64))) {
            int[] prompt = model.encode("And God said");
            for (Sampling s : List.of(Sampling.greedy(), Sampling.temperature(0.9f, 7))) {
                List<Token> tokens = new ArrayList<>();
                GenerationResult r = engine.submit(prompt, s.maxTokens(12).stopAtEos(false).logprobs(TOP), tokens::add)
                        .result().join();
                assertMatchesReference(model, prompt, r.generatedIds(), tokens, s.isGreedy());
            }
        }
    }

    @Test
    void sessionTokensCarryTheSameLogprobsAsTheEngine() {
        try (Model model = Model.embedded(); Session session = Tandem.open(model, 64)) {
            int[] prompt = model.encode("In the beginning");
            List<Token> tokens = new ArrayList<>();
            GenerationResult r = session.generate(prompt, Sampling.greedy().maxTokens(10).stopAtEos(false).logprobs(3), tokens::add);
            assertMatchesReference(model, prompt, r.generatedIds(), tokens, true);
        }
    }

    @Test
    void withoutLogprobsTokensCarryNone() {
        try (Model model = Model.embedded(); Session session = Tandem.open(model, 32)) {
            List<Token> tokens = new ArrayList<>();
            session.generate(model.encode("And"), Sampling.greedy().maxTokens(3), tokens::add);
            assertEquals(3, tokens.size());
            tokens.forEach(t -> assertNull(t.logprobs()));
            List<Token> own = new ArrayList<>();
            session.generate(model.encode("And"), Sampling.greedy().maxTokens(3).logprobs(0), own::add);
            own.forEach(t -> assertEquals(0, t.logprobs().topIds().length));
        }
    }

    @Test
    void tiesGoToTheLowerIdAndTheRangeIsChecked() {
        float[] logits = {1f, 3f, 3f, -2f, 3f, 0f};
        TokenLogprobs lp = TokenLogprobs.of(logits, logits.length, 3, 4);
        assertArrayEquals(new int[] {1, 2, 4, 0}, lp.topIds());
        double z = Math.log(Math.exp(1) + 3 * Math.exp(3) + Math.exp(-2) + Math.exp(0));
        assertEquals(-2 - z, lp.logprob(), 1e-6);
        assertEquals(3 - z, lp.topLogprobs()[0], 1e-6);
        assertEquals(lp.topLogprobs()[0], lp.topLogprobs()[2]);
        assertEquals(logits.length, TokenLogprobs.of(logits, logits.length, 0, 50).topIds().length);
        assertThrows(IllegalArgumentException.class, () -> TokenLogprobs.of(logits, logits.length, 6, 1));
        IllegalArgumentException tooMany = assertThrows(IllegalArgumentException.class, () -> Sampling.greedy().logprobs(21));
        assertTrue(tooMany.getMessage().contains("logprobs"), tooMany.getMessage());
    }

    private static void assertMatchesReference(Model model, int[] prompt, int[] generated, List<Token> tokens, boolean greedy) {
        assertEquals(generated.length, tokens.size());
        int vocab = model.config().vocabSize();
        try (ReferenceForward ref = new ReferenceForward(model.config(), model.weights(), model.ropeInvFreq(), 64,
                ReferenceForward.DEFAULT_PREFILL_CHUNK)) {
            float[] logits = ref.prefill(prompt, 0);
            for (int k = 0; k < generated.length; k++) {
                if (k > 0) {
                    logits = ref.forward(generated[k - 1], prompt.length + k - 1);
                }
                double[] expected = logSoftmax(logits, vocab);
                TokenLogprobs got = tokens.get(k).logprobs();
                String what = "step " + k;
                assertEquals(expected[generated[k]], got.logprob(), TOLERANCE, what);
                Integer[] order = IntStream.range(0, vocab).boxed().toArray(Integer[]::new);
                Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> -expected[i]).thenComparingInt(i -> i));
                int top = got.topIds().length;
                for (int i = 0; i < top; i++) {
                    assertEquals(order[i], got.topIds()[i], what + ": top id " + i);
                    assertEquals(expected[order[i]], got.topLogprobs()[i], TOLERANCE, what + ": top logprob " + i);
                }
                if (greedy) {
                    assertEquals(generated[k], got.topIds()[0], what + ": greedy picks the most likely id");
                }
            }
        }
    }

    private static double[] logSoftmax(float[] logits, int vocab) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[i]);
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += Math.exp(logits[i] - max);
        }
        double[] out = new double[vocab];
        for (int i = 0; i < vocab; i++) {
            out[i] = logits[i] - max - Math.log(sum);
        }
        return out;
    }
}
