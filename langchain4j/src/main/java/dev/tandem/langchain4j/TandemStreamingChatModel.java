package dev.tandem.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.engine.Engine;

import java.util.List;
import java.util.function.Function;

/**
 * A LangChain4j {@link StreamingChatModel} on an in-process {@link Engine}: each token's text goes
 * to {@link StreamingChatResponseHandler#onPartialResponse(String)} as the engine picks it (on the
 * engine's step thread, so a handler must not block), then the whole answer to onCompleteResponse.
 * Returns at once; the caller owns the engine.
 */
public final class TandemStreamingChatModel implements StreamingChatModel {
    private final EngineCalls calls;

    /** Greedy, at most 256 tokens, the plain-transcript prompt. */
    public TandemStreamingChatModel(Engine engine) {
        this(engine, Sampling.greedy().maxTokens(256), EngineCalls.PLAIN_TRANSCRIPT);
    }

    public TandemStreamingChatModel(Engine engine, Sampling defaults, Function<List<ChatMessage>, String> prompt) {
        this.calls = new EngineCalls(engine, defaults, prompt);
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        StringBuilder text = new StringBuilder();
        try {
            calls.submit(calls.prompt(request), calls.sampling(request.parameters()), t -> {
                if (!t.text().isEmpty()) {
                    text.append(t.text());
                    handler.onPartialResponse(t.text());
                }
            }).result().whenComplete((r, e) -> {
                if (e != null) {
                    handler.onError(e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e);
                } else {
                    handler.onCompleteResponse(ChatResponse.builder().aiMessage(AiMessage.from(text.toString()))
                            .finishReason(EngineCalls.finishReason(r.stopReason())).tokenUsage(EngineCalls.usage(r)).build());
                }
            });
        } catch (RuntimeException e) {
            handler.onError(e);
        }
    }
}
