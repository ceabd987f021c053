package dev.tandem.langchain4j;

import dev.langchain4j.model.language.LanguageModel;
import dev.langchain4j.model.output.Response;
import dev.tandem.runtime.GenerationResult;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.engine.Engine;

import java.util.concurrent.CompletionException;

/** A LangChain4j {@link LanguageModel} (text completion) on an in-process {@link Engine}; the caller owns the engine. */
public final class TandemLanguageModel implements LanguageModel {
    private final EngineCalls calls;

    /** Greedy, at most 256 tokens. */
    public TandemLanguageModel(Engine engine) {
        this(engine, Sampling.greedy().maxTokens(256));
    }

    public TandemLanguageModel(Engine engine, Sampling sampling) {
        this.calls = new EngineCalls(engine, sampling, EngineCalls.PLAIN_TRANSCRIPT);
    }

    @Override
    public Response<String> generate(String prompt) {
        StringBuilder text = new StringBuilder();
        GenerationResult r;
        try {
            r = calls.submit(prompt, calls.sampling(null), t -> text.append(t.text())).result().join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException cause ? cause : e;
        }
        return Response.from(text.toString(), EngineCalls.usage(r), EngineCalls.finishReason(r.stopReason()));
    }
}
