package dev.tandem.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.Session;
import dev.tandem.runtime.Tandem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * OpenAI's logprobs, both shapes, streamed and whole: each token's log-probability and its top
 * alternatives equal a direct log-softmax of the reference logits for the same ids (a session's
 * logits after each prefix, computed here apart from the server and the engine).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LogprobsTest {
    private static final int[] PROMPT = {1, 72, 101, 108, 108};
    private ServerFixture fixture;

    @BeforeAll
    void start() throws Exception {
        fixture = new ServerFixture();
    }

    @AfterAll
    void stop() {
        fixture.close();
    }

    private String body(boolean chat, boolean stream) {
        String common = "\"max_tokens\": 6, \"temperature\": 0, \"return_token_ids\": true, \"ignore_eos\": true, \"stream\": " + stream;
        return chat
                ? "{\"messages\": [{\"role\": \"user\", \"content\": \"Hello\"}], \"logprobs\": true, \"top_logprobs\": 3, " + common + "}"
                : "{\"prompt\": " + Arrays.toString(PROMPT) + ", \"logprobs\": 3, " + common + "}";
    }

    @Test
    void completionsCarryTokensTokenLogprobsAndTopLogprobs() throws Exception {
        JsonNode choice = ServerFixture.json(fixture.post("/v1/completions", body(false, false)).body()).get("choices").get(0);
        int[] ids = ids(choice.get("token_ids"));
        JsonNode lp = choice.get("logprobs");
        assertEquals(ids.length, lp.get("tokens").size());
        assertEquals(ids.length, lp.get("text_offset").size());
        double[][] expected = referenceLogSoftmax(PROMPT, ids);
        for (int k = 0; k < ids.length; k++) {
            assertEquals(expected[k][ids[k]], lp.get("token_logprobs").get(k).asDouble(), 1e-5, "token " + k);
            JsonNode top = lp.get("top_logprobs").get(k);
            assertTrue(top.size() >= 1 && top.size() <= 3, top.toString());
            double best = top.elements().next().asDouble();
            assertEquals(expected[k][order(expected[k])[0]], best, 1e-5, "token " + k + ": most likely first");
            assertEquals(best, lp.get("token_logprobs").get(k).asDouble(), 1e-6, "greedy picks the most likely");
        }
        // Streamed, the same values come one token per chunk.
        List<JsonNode> chunks = events(fixture.post("/v1/completions", body(false, true)));
        List<Double> streamed = new ArrayList<>();
        for (JsonNode c : chunks) {
            JsonNode l = c.get("choices").get(0).get("logprobs");
            if (!l.isNull()) {
                l.get("token_logprobs").forEach(v -> streamed.add(v.asDouble()));
            }
        }
        assertEquals(ids.length, streamed.size());
        for (int k = 0; k < ids.length; k++) {
            assertEquals(lp.get("token_logprobs").get(k).asDouble(), streamed.get(k), 0.0, "streamed token " + k);
        }
    }

    @Test
    void chatCarriesContentEntriesWithTopLogprobs() throws Exception {
        JsonNode r = ServerFixture.json(fixture.post("/v1/chat/completions", body(true, false)).body());
        JsonNode choice = r.get("choices").get(0);
        int[] ids = ids(choice.get("token_ids"));
        int promptTokens = r.get("usage").get("prompt_tokens").asInt();
        JsonNode content = choice.get("logprobs").get("content");
        assertEquals(ids.length, content.size());
        int[] prompt = promptOf(promptTokens);
        double[][] expected = referenceLogSoftmax(prompt, ids);
        for (int k = 0; k < ids.length; k++) {
            JsonNode e = content.get(k);
            assertEquals(expected[k][ids[k]], e.get("logprob").asDouble(), 1e-5, "token " + k);
            assertTrue(e.get("bytes").isArray() && e.get("token").isTextual(), e.toString());
            JsonNode top = e.get("top_logprobs");
            assertEquals(3, top.size());
            int[] order = order(expected[k]);
            for (int i = 0; i < 3; i++) {
                assertEquals(expected[k][order[i]], top.get(i).get("logprob").asDouble(), 1e-5, "token " + k + " alternative " + i);
                String piece = fixture.model.tokenizer().orElseThrow()
                        .decode(new int[] {k == 0 ? prompt[prompt.length - 1] : ids[k - 1], order[i]});
                assertTrue(piece.endsWith(top.get(i).get("token").asText()), piece + " vs " + top.get(i));
            }
        }
        List<JsonNode> chunks = events(fixture.post("/v1/chat/completions", body(true, true)));
        List<Double> streamed = new ArrayList<>();
        for (JsonNode c : chunks) {
            JsonNode l = c.get("choices").get(0).get("logprobs");
            if (l != null && !l.isNull()) {
                l.get("content").forEach(v -> streamed.add(v.get("logprob").asDouble()));
            }
        }
        assertEquals(ids.length, streamed.size());
        for (int k = 0; k < ids.length; k++) {
            assertEquals(content.get(k).get("logprob").asDouble(), streamed.get(k), 0.0, "streamed token " + k);
        }
    }

    @Test
    void badLogprobsAre400NamingTheField() throws Exception {
        assertEquals(400, fixture.post("/v1/completions", "{\"prompt\": \"x\", \"logprobs\": 21}").statusCode());
        assertTrue(fixture.post("/v1/completions", "{\"prompt\": \"x\", \"logprobs\": \"a\"}").body().contains("\"logprobs\""));
        HttpResponse<String> noFlag = fixture.post("/v1/chat/completions",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"top_logprobs\": 2}");
        assertEquals(400, noFlag.statusCode());
        assertTrue(noFlag.body().contains("\"top_logprobs\""), noFlag.body());
        JsonNode none = ServerFixture.json(fixture.post("/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": 2}").body());
        assertTrue(none.get("choices").get(0).get("logprobs").isNull());
    }

    /** The chat prompt as the server encoded it: the template's text, re-encoded here the same way. */
    private int[] promptOf(int promptTokens) {
        String text = ChatTemplates.forModel(fixture.model, null).render(List.of(java.util.Map.of("role", "user", "content", "Hello")));
        int[] prompt = fixture.model.tokenizer().orElseThrow().encode(text, true, false);
        assertEquals(promptTokens, prompt.length);
        return prompt;
    }

    private double[][] referenceLogSoftmax(int[] prompt, int[] ids) {
        Model m = fixture.model;
        int vocab = m.config().vocabSize();
        double[][] out = new double[ids.length][];
        try (Session session = Tandem.open(m, 512)) {
            for (int k = 0; k < ids.length; k++) {
                int[] prefix = Arrays.copyOf(prompt, prompt.length + k);
                System.arraycopy(ids, 0, prefix, prompt.length, k);
                float[] logits = session.generate(prefix, Sampling.greedy().maxTokens(1), null).promptLogits();
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int i = 0; i < vocab; i++) {
                    max = Math.max(max, logits[i]);
                }
                for (int i = 0; i < vocab; i++) {
                    sum += Math.exp(logits[i] - max);
                }
                out[k] = new double[vocab];
                for (int i = 0; i < vocab; i++) {
                    out[k][i] = logits[i] - max - Math.log(sum);
                }
            }
        }
        return out;
    }

    private static int[] order(double[] lp) {
        return IntStream.range(0, lp.length).boxed()
                .sorted(Comparator.<Integer>comparingDouble(i -> -lp[i]).thenComparingInt(i -> i))
                .mapToInt(Integer::intValue).toArray();
    }

    private static int[] ids(JsonNode a) {
        int[] ids = new int[a.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = a.get(i).asInt();
        }
        return ids;
    }

    private static List<JsonNode> events(HttpResponse<String> r) throws Exception {
        assertEquals(200, r.statusCode(), r.body());
        List<JsonNode> out = new ArrayList<>();
        for (String line : r.body().split("\n")) {
            if (line.startsWith("data: {")) {
                out.add(ServerFixture.json(line.substring(6)));
            }
        }
        return out;
    }
}
