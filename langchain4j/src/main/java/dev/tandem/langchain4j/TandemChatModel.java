package dev.tandem.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.tandem.runtime.GenerationResult;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.engine.Engine;

import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.function.Function;

/**
 * A LangChain4j {@link ChatModel} on an in-process {@link Engine}: each chat is one engine request,
 * batched with whatever else the engine runs. The caller owns the engine (and closes it after).
 * Thread-safe, as the engine is.
 */
public final class TandemChatModel implements ChatModel {
    private final EngineCalls calls;

    /** Greedy, at most 256 tokens, the plain-transcript prompt (see {@link #TandemChatModel(Engine, Sampling, Function)}). */
    public TandemChatModel(Engine engine) {
        this(engine, Sampling.greedy().maxTokens(256), EngineCalls.PLAIN_TRANSCRIPT);
    }

    /**
     * @param defaults sampling a request's parameters (temperature, top-p, top-k, max output tokens) override
     * @param prompt   renders the messages as the prompt text (BOS is added); e.g. a model's chat template
     */
    public TandemChatModel(Engine engine, Sampling defaults, Function<List<ChatMessage>, String> prompt) {
        this.calls = new EngineCalls(engine, defaults, prompt);
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        StringBuilder text = new StringBuilder();
        GenerationResult r;
        try {
            r = calls.submit(calls.prompt(request), calls.sampling(request.parameters()), t -> text.append(t.text())).result().join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException cause ? cause : e;
        }
        return ChatResponse.builder().aiMessage(AiMessage.from(text.toString()))
                .finishReason(EngineCalls.finishReason(r.stopReason())).tokenUsage(EngineCalls.usage(r)).build();
    }
}
