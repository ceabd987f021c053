package dev.tandem.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * 64 concurrent streaming clients on loopback, greedy: every answer (text and token ids) is the one
 * the same request gets when served alone, and afterwards the server holds no more threads, file
 * descriptors or KV blocks than before. Bounded: 64 requests of 8 tokens per round.
 */
class SoakTest {
    private static final int CLIENTS = 64;
    private static final int TOKENS = 8;

    private static String body(int i) {
        return "{\"prompt\": \"Story " + i + ": once\", \"max_tokens\": " + TOKENS + ", \"temperature\": 0,"
                + " \"stream\": true, \"return_token_ids\": true}";
    }

    /** One streamed answer: its text and token ids, in order, and whether it ended with [DONE]. */
    record Answer(String text, List<Integer> ids, boolean done) {}

    private static Answer parse(HttpResponse<Stream<String>> r) {
        assertEquals(200, r.statusCode());
        StringBuilder text = new StringBuilder();
        List<Integer> ids = new ArrayList<>();
        boolean[] done = new boolean[1];
        r.body().forEach(line -> {
            if (line.equals("data: [DONE]")) {
                done[0] = true;
            } else if (line.startsWith("data: ")) {
                try {
                    JsonNode choice = ServerFixture.json(line.substring(6)).get("choices").get(0);
                    text.append(choice.get("text").asText());
                    if (choice.has("token_ids")) {
                        choice.get("token_ids").forEach(id -> ids.add(id.asInt()));
                    }
                } catch (java.io.IOException e) {
                    throw new AssertionError("a chunk is not JSON: " + line, e);
                }
            }
        });
        return new Answer(text.toString(), ids, done[0]);
    }

    private static List<Answer> concurrently(ServerFixture f) {
        try (HttpClient client = HttpClient.newHttpClient()) {
            List<CompletableFuture<Answer>> answers = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                HttpRequest req = HttpRequest.newBuilder(f.uri("/v1/completions"))
                        .POST(HttpRequest.BodyPublishers.ofString(body(i))).build();
                answers.add(client.sendAsync(req, HttpResponse.BodyHandlers.ofLines()).thenApply(SoakTest::parse));
            }
            return answers.stream().map(CompletableFuture::join).toList();
        }
    }

    private static long openFiles() throws Exception {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }

    private static int threads() {
        return ManagementFactory.getThreadMXBean().getThreadCount();
    }

    @Test
    void sixtyFourConcurrentStreamsMatchTheirSoloAnswersAndLeakNothing() throws Exception {
        try (ServerFixture f = new ServerFixture()) {
            concurrently(f); // warms the server's and the client's pools up to their working size
            List<Answer> alone = new ArrayList<>();
            try (HttpClient client = HttpClient.newHttpClient()) {
                for (int i = 0; i < CLIENTS; i++) {
                    HttpRequest req = HttpRequest.newBuilder(f.uri("/v1/completions"))
                            .POST(HttpRequest.BodyPublishers.ofString(body(i))).build();
                    alone.add(parse(client.send(req, HttpResponse.BodyHandlers.ofLines())));
                }
            }
            int total = f.engine.pool().blocks();
            ServerFixture.eventually("blocks free before the run", () -> f.engine.freeKvBlocks() == total);
            int threadsBefore = threads();
            long filesBefore = openFiles();

            List<Answer> together = concurrently(f);

            for (int i = 0; i < CLIENTS; i++) {
                assertTrue(together.get(i).done(), "stream " + i + " ended without [DONE]");
                assertEquals(TOKENS, alone.get(i).ids().size());
                assertEquals(alone.get(i), together.get(i), "request " + i + " served with 63 others");
            }
            ServerFixture.eventually("all KV blocks free", () -> f.engine.freeKvBlocks() == total);
            ServerFixture.eventually("no more threads than before (" + threadsBefore + ")", () -> threads() <= threadsBefore);
            ServerFixture.eventually("no more open files than before (" + filesBefore + ")", () -> {
                try {
                    return openFiles() <= filesBefore;
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
            assertEquals(0.0, f.metric("tandem_sequences_running"));
            assertEquals(0.0, f.metric("tandem_sequences_queued"));
            assertEquals(0.0, f.metric("tandem_kv_blocks_used"));
        }
    }
}
