package dev.tandem.langchain4j;

import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.language.LanguageModel;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.Response;
import dev.tandem.conformance.SharedData;
import dev.tandem.runtime.GenerationResult;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.Devices;
import dev.tandem.runtime.engine.Engine;
import dev.tandem.runtime.engine.EngineConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** LangChain4j chats through the Tandem models on stories260K give exactly what the engine gives directly. */
class TandemLangChain4jTest {
    static final String PROMPT = "Once upon a time";
    static final int MAX = 24;

    static Model model;
    static Device cpu;
    static Engine engine;

    /** What the engine generates for text on its own: ids and streamed text. */
    record Direct(int[] ids, String text, GenerationResult result) {}

    @BeforeAll
    static void open() {
        model = Model.load(SharedData.model("stories260K-q8_0.gguf"));
        cpu = Devices.open("cpu");
        engine = Engine.open(model, cpu, EngineConfig.defaults(model.config().contextLength()).maxSequences(4));
    }

    @AfterAll
    static void close() {
        engine.close();
        cpu.close();
        model.close();
    }

    static Direct direct(String text, Sampling sampling) {
        StringBuilder out = new StringBuilder();
        GenerationResult r = engine.submit(text, sampling, t -> out.append(t.text())).result().join();
        return new Direct(r.generatedIds(), out.toString(), r);
    }

    @Test
    void syncChatEqualsADirectEngineRun() {
        Direct expected = direct(PROMPT, Sampling.greedy().maxTokens(MAX));
        assertFalse(expected.text().isBlank(), "stories260K writes text");
        ChatModel chat = new TandemChatModel(engine);
        ChatResponse response = chat.chat(ChatRequest.builder().messages(UserMessage.from(PROMPT)).maxOutputTokens(MAX).build());
        assertEquals(expected.text(), response.aiMessage().text());
        assertEquals(expected.ids().length, response.tokenUsage().outputTokenCount());
        assertEquals(expected.result().promptIds().length, response.tokenUsage().inputTokenCount());
        assertEquals(expected.result().generatedIds().length == MAX ? FinishReason.LENGTH : FinishReason.STOP, response.finishReason());
        // ChatModel.chat(String) goes through the same path.
        assertEquals(direct(PROMPT, Sampling.greedy().maxTokens(256)).text(), chat.chat(PROMPT));
    }

    @Test
    void streamingChatStreamsTheDirectRunsTokens() throws Exception {
        Direct expected = direct(PROMPT, Sampling.greedy().maxTokens(MAX));
        StreamingChatModel streaming = new TandemStreamingChatModel(engine);
        List<String> parts = new ArrayList<>();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        streaming.chat(ChatRequest.builder().messages(UserMessage.from(PROMPT)).maxOutputTokens(MAX).build(),
                new StreamingChatResponseHandler() {
                    @Override
                    public void onPartialResponse(String partial) { parts.add(partial); }

                    @Override
                    public void onCompleteResponse(ChatResponse response) { done.complete(response); }

                    @Override
                    public void onError(Throwable error) { done.completeExceptionally(error); }
                });
        ChatResponse response = done.get(5, TimeUnit.MINUTES);
        assertEquals(expected.text(), String.join("", parts));
        assertEquals(expected.text(), response.aiMessage().text());
        assertEquals(expected.ids().length, response.tokenUsage().outputTokenCount());
        assertTrue(parts.size() > 1, "tokens arrive one by one, not as one piece");
    }

    @Test
    void languageModelAndSystemMessagesUseThePlainTranscript() {
        Direct expected = direct("You tell stories.\n" + PROMPT, Sampling.greedy().maxTokens(MAX));
        ChatResponse chat = new TandemChatModel(engine).chat(ChatRequest.builder()
                .messages(SystemMessage.from("You tell stories."), UserMessage.from(PROMPT)).maxOutputTokens(MAX).build());
        assertEquals(expected.text(), chat.aiMessage().text());

        LanguageModel lm = new TandemLanguageModel(engine, Sampling.greedy().maxTokens(MAX));
        Response<String> completion = lm.generate(PROMPT);
        Direct plain = direct(PROMPT, Sampling.greedy().maxTokens(MAX));
        assertEquals(plain.text(), completion.content());
        assertEquals(plain.ids().length, completion.tokenUsage().outputTokenCount());
    }

    @Test
    void sampledChatMatchesTheSameSeedDirectly() {
        Sampling seeded = Sampling.temperature(0.9f, 42).maxTokens(MAX);
        Direct expected = direct(PROMPT, seeded);
        ChatModel chat = new TandemChatModel(engine, seeded, EngineCalls.PLAIN_TRANSCRIPT);
        assertEquals(expected.text(), chat.chat(ChatRequest.builder().messages(UserMessage.from(PROMPT)).build()).aiMessage().text());
    }

    @Test
    void penaltiesOfTheRequestReachTheSampler() {
        Sampling penalised = Sampling.greedy().maxTokens(MAX).presencePenalty(0.8f).frequencyPenalty(0.4f);
        Direct expected = direct(PROMPT, penalised);
        ChatModel chat = new TandemChatModel(engine);
        String got = chat.chat(ChatRequest.builder().messages(UserMessage.from(PROMPT)).presencePenalty(0.8).frequencyPenalty(0.4)
                .maxOutputTokens(MAX).build()).aiMessage().text();
        assertEquals(expected.text(), got);
        assertNotEquals(direct(PROMPT, Sampling.greedy().maxTokens(MAX)).text(), got, "the penalties changed the text");
    }

    @Test
    void unsupportedRequestsAreRefusedNotIgnored() {
        ChatModel chat = new TandemChatModel(engine);
        assertThrows(UnsupportedFeatureException.class, () -> chat.chat(ChatRequest.builder()
                .messages(UserMessage.from(PROMPT)).stopSequences(List.of("The end")).build()));
        CompletableFuture<Throwable> error = new CompletableFuture<>();
        new TandemStreamingChatModel(engine).chat(ChatRequest.builder().messages(UserMessage.from("once ".repeat(2000))).build(),
                new StreamingChatResponseHandler() {
                    @Override
                    public void onCompleteResponse(ChatResponse response) { error.complete(null); }

                    @Override
                    public void onError(Throwable e) { error.complete(e); }
                });
        Throwable e = error.join();
        assertTrue(e instanceof dev.langchain4j.exception.InvalidRequestException, "a prompt over the context is reported to the handler: " + e);
        assertTrue(e.getMessage().contains("context"), e.getMessage());
    }
}
