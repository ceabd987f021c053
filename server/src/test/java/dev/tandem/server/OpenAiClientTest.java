package dev.tandem.server;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.Session;
import dev.tandem.runtime.Tandem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** The official OpenAI Java SDK against the server: chat, streaming and not, greedy, checked against a Session. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenAiClientTest {
    private static final String KEY = "test-key";
    private ServerFixture fixture;
    private OpenAIClient client;

    @BeforeAll
    void start() throws Exception {
        fixture = new ServerFixture(dev.tandem.runtime.engine.EngineConfig.defaults(512),
                ServerOptions.loopback().apiKey(KEY));
        client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + fixture.server.port() + "/v1")
                .apiKey(KEY).maxRetries(0).build();
    }

    @AfterAll
    void stop() {
        client.close();
        fixture.close();
    }

    private static ChatCompletionCreateParams params() {
        return ChatCompletionCreateParams.builder().model("tandem-embedded")
                .addSystemMessage("You tell short stories.")
                .addUserMessage("Once upon a time")
                .maxCompletionTokens(12).temperature(0.0).seed(7).build();
    }

    /** What a single Session generates, greedy, for the same conversation through the same template. */
    private String expected() {
        String prompt = ChatTemplates.forModel(fixture.model, null).render(List.of(
                Map.of("role", "system", "content", "You tell short stories."),
                Map.of("role", "user", "content", "Once upon a time")));
        int[] ids = fixture.model.tokenizer().orElseThrow().encode(prompt, true, false);
        StringBuilder text = new StringBuilder();
        try (Session s = Tandem.open(fixture.model, 512)) {
            s.generate(ids, Sampling.greedy().maxTokens(12), t -> text.append(t.text()));
        }
        return text.toString();
    }

    @Test
    void nonStreamingChatMatchesASession() {
        ChatCompletion c = client.chat().completions().create(params());
        assertEquals(1, c.choices().size());
        String text = c.choices().get(0).message().content().orElseThrow();
        assertEquals(expected(), text);
        assertEquals("tandem-embedded", c.model());
        long completion = c.usage().orElseThrow().completionTokens();
        assertEquals(c.usage().orElseThrow().promptTokens() + completion, c.usage().orElseThrow().totalTokens());
        assertFalse(text.isEmpty());
    }

    @Test
    void streamingChatMatchesNonStreaming() {
        StringBuilder streamed = new StringBuilder();
        String[] finish = new String[1];
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params())) {
            stream.stream().forEach(chunk -> chunk.choices().forEach(choice -> {
                choice.delta().content().ifPresent(streamed::append);
                choice.finishReason().ifPresent(f -> finish[0] = f.asString());
            }));
        }
        assertEquals(expected(), streamed.toString());
        assertEquals(client.chat().completions().create(params()).choices().get(0).finishReason().asString(), finish[0]);
    }
}
