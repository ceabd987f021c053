package dev.tandem.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.engine.EngineConfig;
import dev.tandem.runtime.engine.RequestHandle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad input and faults: each gets its status and an OpenAI-style error naming the field. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ServerErrorsTest {
    private ServerFixture fixture;

    @BeforeAll
    void start() throws Exception {
        fixture = new ServerFixture(EngineConfig.defaults(512), ServerOptions.loopback().maxBodyBytes(4096));
    }

    @AfterAll
    void stop() {
        fixture.close();
    }

    private void assertError(HttpResponse<String> r, int status, String param) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        JsonNode error = ServerFixture.json(r.body()).get("error");
        assertTrue(error.get("message").isTextual() && !error.get("message").asText().isEmpty(), r.body());
        assertTrue(error.get("type").isTextual(), r.body());
        if (param == null) {
            assertTrue(error.get("param").isNull(), r.body());
        } else {
            assertEquals(param, error.get("param").asText(), r.body());
        }
    }

    @Test
    void badRequestsAre400NamingTheField() throws Exception {
        assertError(fixture.post("/v1/completions", "{\"prompt\": \"x\", "), 400, null);
        assertError(fixture.post("/v1/completions", "[1, 2]"), 400, null);
        assertError(fixture.post("/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": 0}"), 400, "max_tokens");
        assertError(fixture.post("/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": -3}"), 400, "max_tokens");
        assertError(fixture.post("/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": \"ten\"}"), 400, "max_tokens");
        assertError(fixture.post("/v1/completions", "{\"prompt\": \"x\", \"temperature\": \"hot\"}"), 400, "temperature");
        assertError(fixture.post("/v1/completions", "{\"prompt\": \"x\", \"top_p\": 0}"), 400, "top_p");
        assertError(fixture.post("/v1/completions", "{\"prompt\": \"x\", \"min_p\": 1.5}"), 400, "min_p");
        assertError(fixture.post("/v1/completions", "{\"prompt\": \"x\", \"presence_penalty\": 2.5}"), 400, "presence_penalty");
        assertError(fixture.post("/v1/completions", "{\"prompt\": \"x\", \"frequency_penalty\": \"lots\"}"), 400, "frequency_penalty");
        assertError(fixture.post("/v1/completions", "{\"prompt\": \"x\", \"repetition_penalty\": 0}"), 400, "repetition_penalty");
        assertError(fixture.post("/v1/completions", "{\"prompt\": \"x\", \"stream\": \"yes\"}"), 400, "stream");
        assertError(fixture.post("/v1/completions", "{\"prompt\": \"x\", \"n\": 2}"), 400, "n");
        assertError(fixture.post("/v1/completions", "{\"prompt\": \"x\", \"stop\": [1]}"), 400, "stop");
        assertError(fixture.post("/v1/completions", "{\"prompt\": 5}"), 400, "prompt");
        assertError(fixture.post("/v1/completions", "{\"max_tokens\": 5}"), 400, "prompt");
        assertError(fixture.post("/v1/completions", "{\"prompt\": [1, 99999]}"), 400, "prompt");
        assertError(fixture.post("/v1/chat/completions", "{\"messages\": []}"), 400, "messages");
        assertError(fixture.post("/v1/chat/completions", "{\"messages\": [{\"content\": \"hi\"}]}"), 400, "messages[0]");
    }

    @Test
    void aPromptOverTheContextIs400() throws Exception {
        String ids = IntStream.range(0, 600).mapToObj(i -> "65").collect(Collectors.joining(","));
        // 600 ids, under the body limit, over the 512-position context.
        assertError(fixture.post("/v1/completions", "{\"prompt\": [" + ids + "]}"), 400, "prompt");
    }

    @Test
    void aBodyOverTheLimitIs413() throws Exception {
        char[] big = new char[8000];
        Arrays.fill(big, 'a');
        assertError(fixture.post("/v1/completions", "{\"prompt\": \"" + new String(big) + "\"}"), 413, null);
    }

    @Test
    void unknownPathsAndMethodsAreRefused() throws Exception {
        assertEquals(404, fixture.get("/v1/nothing").statusCode());
        assertEquals(405, fixture.get("/v1/completions").statusCode());
        assertEquals(200, fixture.get("/health").statusCode());
        JsonNode models = ServerFixture.json(fixture.get("/v1/models").body());
        assertEquals("tandem-embedded", models.get("data").get(0).get("id").asText());
    }

    @Test
    void completionsAcceptTokenIdsAndReturnThem() throws Exception {
        HttpResponse<String> r = fixture.post("/v1/completions",
                "{\"prompt\": [1, 70, 80], \"max_tokens\": 5, \"temperature\": 0, \"ignore_eos\": true, \"return_token_ids\": true}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode body = ServerFixture.json(r.body());
        assertEquals(5, body.get("choices").get(0).get("token_ids").size());
        assertEquals(3, body.get("usage").get("prompt_tokens").asInt());
        assertEquals(5, body.get("usage").get("completion_tokens").asInt());
        assertEquals("length", body.get("choices").get(0).get("finish_reason").asText());
        int[] ids = new int[5];
        for (int i = 0; i < 5; i++) {
            ids[i] = body.get("choices").get(0).get("token_ids").get(i).asInt();
        }
        assertEquals(fixture.model.tokenizer().orElseThrow().decode(ids), body.get("choices").get(0).get("text").asText());
    }

    @Test
    void penaltiesAndMinPReachTheSamplerAsASessionAppliesThem() throws Exception {
        // Greedy with a repetition penalty and presence/frequency penalties over prompt and output:
        // the ids are the ones a session generates with the same settings (window: every token).
        int[] prompt = {1, 70, 80};
        dev.tandem.runtime.generate.Sampling sampling = dev.tandem.runtime.generate.Sampling.greedy().maxTokens(12).stopAtEos(false)
                .minP(0.1f).repeatPenalty(1.5f, -1).presencePenalty(0.5f).frequencyPenalty(0.25f);
        int[] expected, plain;
        try (var session = dev.tandem.runtime.Tandem.open(fixture.model, 512)) {
            expected = session.generate(prompt, sampling, null).generatedIds();
            plain = session.generate(prompt, dev.tandem.runtime.generate.Sampling.greedy().maxTokens(12).stopAtEos(false), null).generatedIds();
        }
        HttpResponse<String> r = fixture.post("/v1/completions", "{\"prompt\": [1, 70, 80], \"max_tokens\": 12, \"temperature\": 0,"
                + " \"ignore_eos\": true, \"return_token_ids\": true, \"min_p\": 0.1, \"repetition_penalty\": 1.5,"
                + " \"presence_penalty\": 0.5, \"frequency_penalty\": 0.25}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode ids = ServerFixture.json(r.body()).get("choices").get(0).get("token_ids");
        int[] got = new int[ids.size()];
        for (int i = 0; i < got.length; i++) {
            got[i] = ids.get(i).asInt();
        }
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, got);
        org.junit.jupiter.api.Assertions.assertFalse(Arrays.equals(expected, plain), "the penalties changed the greedy ids");
    }

    @Test
    void aWrongOrMissingKeyIs401() throws Exception {
        try (ServerFixture keyed = new ServerFixture(EngineConfig.defaults(64), ServerOptions.loopback().apiKey("sesame"))) {
            String ok = "{\"prompt\": \"x\", \"max_tokens\": 1}";
            assertError(keyed.post("/v1/completions", ok), 401, null);
            assertError(keyed.post("/v1/completions", ok, "Authorization", "Bearer nope"), 401, null);
            assertEquals(200, keyed.post("/v1/completions", ok, "Authorization", "Bearer sesame").statusCode());
            assertEquals(200, keyed.get("/health").statusCode());
        }
    }

    /** Opens a stream on a raw socket and reads until the first token's event arrives. */
    private static Socket openStream(int port, String body) throws Exception {
        Socket s = new Socket("127.0.0.1", port);
        OutputStream out = s.getOutputStream();
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        out.write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            if (line.startsWith("data: {")) {
                return s;
            }
        }
        throw new AssertionError("the stream ended before its first token");
    }

    private static final String LONG_STREAM = "{\"prompt\": \"Once\", \"max_tokens\": 400, \"temperature\": 0, \"ignore_eos\": true, \"stream\": true}";

    @Test
    void aClientThatDisconnectsMidStreamCancelsItsSequenceAndFreesItsBlocks() throws Exception {
        try (ServerFixture f = new ServerFixture()) {
            int total = f.engine.pool().blocks();
            Socket s = openStream(f.server.port(), LONG_STREAM);
            assertTrue(f.engine.freeKvBlocks() < total, "the running stream holds blocks");
            s.close();
            ServerFixture.eventually("the stream's blocks are free", () -> f.engine.freeKvBlocks() == total);
            assertEquals(1.0, f.metric("tandem_requests_cancelled_total"));
            // Cancelled, not finished: far fewer than its 400 tokens were generated.
            assertTrue(f.metric("tandem_generated_tokens_total") < 400, "the sequence ran on after its client left");
        }
    }

    @Test
    void overloadIs429WithRetryAfter() throws Exception {
        EngineConfig one = EngineConfig.defaults(512).maxSequences(1).queueCapacity(1);
        try (ServerFixture f = new ServerFixture(one, ServerOptions.loopback())) {
            // A request whose token callback holds the engine's step thread: nothing moves until it is released,
            // so the engine's one sequence stays taken and its queue of one fills deterministically.
            CountDownLatch entered = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            RequestHandle holder = f.engine.submit(new int[] {1, 70}, Sampling.greedy().maxTokens(2), t -> {
                entered.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            entered.await();
            HttpResponse<InputStream> queued = f.http.send(HttpRequest.newBuilder(f.uri("/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\": \"x\", \"max_tokens\": 2, \"stream\": true}")).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(200, queued.statusCode());
            HttpResponse<String> refused = f.post("/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": 1}");
            assertError(refused, 429, null);
            assertTrue(refused.headers().firstValue("Retry-After").isPresent());
            release.countDown();
            holder.result().join();
            String rest = new String(queued.body().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(rest.endsWith("data: [DONE]\n\n"), rest);
            ServerFixture.eventually("the blocks are free", () -> f.engine.freeKvBlocks() == f.engine.pool().blocks());
        }
    }
}
