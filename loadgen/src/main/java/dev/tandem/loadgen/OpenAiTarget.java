package dev.tandem.loadgen;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.runtime.error.TandemException;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Iterator;
import java.util.stream.Stream;

/**
 * Requests to an OpenAI-compatible server: {@code POST /v1/completions} with {@code stream: true},
 * the prompt as token ids, greedy, and vLLM's {@code ignore_eos} and {@code return_token_ids} so
 * every request yields exactly max_tokens tokens and each chunk says how many it carries.
 */
final class OpenAiTarget implements LoadTarget {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient client;
    private final URI completions;
    private final String baseUrl;
    private final String modelId;
    private final String apiKey;

    private OpenAiTarget(HttpClient client, String baseUrl, String modelId, String apiKey) {
        this.client = client;
        this.baseUrl = baseUrl;
        this.completions = URI.create(baseUrl + "/v1/completions");
        this.modelId = modelId;
        this.apiKey = apiKey;
    }

    /**
     * Connects to url (e.g. http://127.0.0.1:8080) and asks {@code /v1/models} for the model to name.
     * @throws TandemException (one line) when the URL is malformed or the server does not answer
     */
    static OpenAiTarget connect(String url, String apiKey) {
        String base = url.replaceFirst("/+$", "").replaceFirst("/v1$", "");
        URI models;
        try {
            models = URI.create(base + "/v1/models");
            if (!"http".equals(models.getScheme()) && !"https".equals(models.getScheme()) || models.getHost() == null) {
                throw new IllegalArgumentException();
            }
        } catch (IllegalArgumentException e) {
            throw new TandemException("--url '" + url + "': expected http://HOST:PORT");
        }
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        try {
            HttpResponse<String> r = client.send(authorized(HttpRequest.newBuilder(models), apiKey).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new TandemException("--url " + base + ": GET /v1/models answered HTTP " + r.statusCode());
            }
            JsonNode data = JSON.readTree(r.body()).path("data");
            String id = data.path(0).path("id").asText("");
            if (id.isEmpty()) {
                throw new TandemException("--url " + base + ": GET /v1/models listed no model");
            }
            return new OpenAiTarget(client, base, id, apiKey);
        } catch (IOException e) {
            client.close();
            throw new TandemException("--url " + base + ": cannot reach the server (" + e.getClass().getSimpleName() + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            client.close();
            throw new TandemException("--url " + base + ": interrupted");
        }
    }

    private static HttpRequest.Builder authorized(HttpRequest.Builder b, String apiKey) {
        return apiKey == null ? b : b.header("Authorization", "Bearer " + apiKey);
    }

    String modelId() { return modelId; }

    @Override
    public RequestTiming run(int[] promptIds, int maxTokens) throws IOException, InterruptedException {
        ObjectNode body = JSON.createObjectNode().put("model", modelId).put("max_tokens", maxTokens).put("temperature", 0)
                .put("stream", true).put("ignore_eos", true).put("return_token_ids", true);
        var prompt = body.putArray("prompt");
        for (int id : promptIds) {
            prompt.add(id);
        }
        HttpRequest request = authorized(HttpRequest.newBuilder(completions), apiKey)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build();
        long start = System.nanoTime();
        HttpResponse<Stream<String>> response = client.send(request, HttpResponse.BodyHandlers.ofLines());
        long first = 0;
        long last = 0;
        int tokens = 0;
        try (Stream<String> lines = response.body()) {
            if (response.statusCode() != 200) {
                throw new IOException("HTTP " + response.statusCode() + ": " + lines.findFirst().orElse(""));
            }
            for (Iterator<String> it = lines.iterator(); it.hasNext(); ) {
                String line = it.next();
                if (!line.startsWith("data:")) {
                    continue;
                }
                String data = line.substring(5).trim();
                if (data.equals("[DONE]")) {
                    break;
                }
                int n = tokensIn(JSON.readTree(data));
                if (n > 0) {
                    long now = System.nanoTime();
                    first = first == 0 ? now : first;
                    last = now;
                    tokens += n;
                }
            }
        }
        return new RequestTiming(start, first, last == 0 ? System.nanoTime() : last, promptIds.length, tokens);
    }

    /** Tokens one chunk carries: its token_ids, else one per chunk with text. */
    private static int tokensIn(JsonNode chunk) {
        if (chunk.has("error")) {
            throw new IllegalStateException("the server sent an error mid-stream: " + chunk.path("error").path("message").asText());
        }
        JsonNode choice = chunk.path("choices").path(0);
        if (choice.isMissingNode()) {
            return 0;
        }
        JsonNode ids = choice.get("token_ids");
        if (ids != null && ids.isArray()) {
            return ids.size();
        }
        return choice.path("text").asText("").isEmpty() ? 0 : 1;
    }

    @Override
    public String describe() { return baseUrl + " (" + modelId + ")"; }

    @Override
    public void close() { client.close(); }
}
