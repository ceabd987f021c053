package dev.tandem.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import dev.tandem.runtime.GenerationResult;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.StopReason;
import dev.tandem.runtime.Token;
import dev.tandem.runtime.engine.Engine;
import dev.tandem.runtime.engine.RequestHandle;

import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;

/** What the three LangChain4j models share: a prompt from messages, sampling from parameters, one engine request. */
final class EngineCalls {
    /**
     * The default prompt: every message's text, one per line, in order. What a base model (the
     * stories models) continues; for an instruction-tuned model, pass a formatter that applies its
     * chat template.
     */
    static final Function<List<ChatMessage>, String> PLAIN_TRANSCRIPT = messages -> {
        StringBuilder b = new StringBuilder();
        for (ChatMessage m : messages) {
            if (!b.isEmpty()) {
                b.append('\n');
            }
            b.append(textOf(m));
        }
        return b.toString();
    };

    private final Engine engine;
    private final Sampling defaults;
    private final Function<List<ChatMessage>, String> prompt;

    EngineCalls(Engine engine, Sampling defaults, Function<List<ChatMessage>, String> prompt) {
        if (engine == null || defaults == null || prompt == null) {
            throw new IllegalArgumentException("engine, default sampling and prompt formatter must not be null");
        }
        this.engine = engine;
        this.defaults = defaults;
        this.prompt = prompt;
    }

    static String textOf(ChatMessage m) {
        return switch (m) {
            case SystemMessage s -> s.text();
            case UserMessage u when u.hasSingleText() -> u.singleText();
            case AiMessage a -> a.text() == null ? "" : a.text();
            default -> throw new UnsupportedFeatureException("Tandem takes text messages only, got a " + m.type() + " message"
                    + " (images, audio and tool results are not supported)");
        };
    }

    /** The request's parameters over the defaults; tools and stop strings are refused rather than ignored. */
    Sampling sampling(ChatRequestParameters p) {
        Sampling s = defaults;
        if (p == null) {
            return s;
        }
        if (p.toolSpecifications() != null && !p.toolSpecifications().isEmpty()) {
            throw new UnsupportedFeatureException("tools are not supported by the Tandem models");
        }
        if (p.stopSequences() != null && !p.stopSequences().isEmpty()) {
            throw new UnsupportedFeatureException("stop sequences are not supported: the engine stops on EOS, stop ids and max tokens");
        }
        if (p.temperature() != null) {
            s = s.withTemperature(p.temperature().floatValue());
        }
        if (p.topP() != null) {
            s = s.topP(p.topP().floatValue());
        }
        if (p.topK() != null) {
            s = s.topK(p.topK());
        }
        if (p.presencePenalty() != null) {
            s = s.presencePenalty(p.presencePenalty().floatValue());
        }
        if (p.frequencyPenalty() != null) {
            s = s.frequencyPenalty(p.frequencyPenalty().floatValue());
        }
        if (p.maxOutputTokens() != null) {
            s = s.maxTokens(p.maxOutputTokens());
        }
        return s;
    }

    String prompt(ChatRequest request) { return prompt.apply(request.messages()); }

    /** Submits text with BOS; a bad value (sampling, a prompt over the context, overload) is an InvalidRequestException. */
    RequestHandle submit(String text, Sampling sampling, Consumer<Token> onToken) {
        try {
            return engine.submit(text, sampling, onToken);
        } catch (IllegalArgumentException | dev.tandem.runtime.error.TandemException e) {
            throw new InvalidRequestException(e.getMessage(), e);
        }
    }

    static FinishReason finishReason(StopReason r) {
        return switch (r) {
            case EOS -> FinishReason.STOP;
            case MAX_TOKENS, CONTEXT_FULL -> FinishReason.LENGTH;
        };
    }

    static TokenUsage usage(GenerationResult r) {
        return new TokenUsage(r.promptIds().length, r.generatedIds().length);
    }
}
