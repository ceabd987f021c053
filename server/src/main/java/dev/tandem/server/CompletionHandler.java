package dev.tandem.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.engine.Engine;
import dev.tandem.runtime.tokenizer.Tokenizer;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * POST /v1/completions and /v1/chat/completions: the request checked, its prompt encoded (chat
 * through the template), submitted to the engine, answered as one JSON body or as server-sent
 * events in OpenAI's chunk format, ending with {@code data: [DONE]}.
 */
final class CompletionHandler {
    /** OpenAI's default max_tokens for /v1/completions. */
    static final int DEFAULT_COMPLETION_TOKENS = 16;

    private final Engine engine;
    private final Model model;
    private final String modelId;
    private final ChatTemplates templates;
    private final ServerMetrics metrics;
    private final ObjectMapper json;
    private final RequestParser parser;
    private final AtomicLong ids = new AtomicLong();

    CompletionHandler(Engine engine, Model model, String modelId, ChatTemplates templates, ServerMetrics metrics,
                      ObjectMapper json) {
        this.engine = engine;
        this.model = model;
        this.modelId = modelId;
        this.templates = templates;
        this.metrics = metrics;
        this.json = json;
        this.parser = new RequestParser(json);
    }

    /** What the HTTP layer does with the answer. */
    interface Exchange {
        /** Sends a whole JSON body with status 200. */
        void json(ObjectNode body) throws IOException;

        /** Starts a 200 text/event-stream response and returns its body. */
        OutputStream eventStream() throws IOException;
    }

    void handle(byte[] body, boolean chat, Exchange exchange) throws IOException {
        GenerationRequest req = parser.parse(body, chat);
        int[] prompt = promptIds(req);
        int context = engine.config().contextLength();
        if (prompt.length > context) {
            throw ApiException.invalid(req.promptField(), "the prompt has " + prompt.length
                    + " tokens but the context holds " + context);
        }
        int maxTokens = req.maxTokens() != null ? req.maxTokens()
                : chat ? context - prompt.length : DEFAULT_COMPLETION_TOKENS;
        long seed = req.seed() != null ? req.seed() : ThreadLocalRandom.current().nextLong();
        Sampling sampling = new Sampling(req.temperature(), req.topK(), req.topP(), req.minP(), req.penalties(), seed,
                Math.max(maxTokens, 1), !req.ignoreEos(), new int[0], req.logprobs());
        String id = (chat ? "chatcmpl-" : "cmpl-") + Long.toHexString(System.currentTimeMillis()) + "-" + ids.incrementAndGet();
        OpenAiJson answer = new OpenAiJson(json, id, modelId, chat);
        Generation g = Generation.submit(engine, prompt, sampling, metrics, req.promptField());
        StopMatcher stop = new StopMatcher(req.stop());
        LogprobsJson logprobs = req.logprobs() < 0 ? null
                : new LogprobsJson(json, model.tokenizer().orElse(null), chat, prompt[prompt.length - 1]);
        if (!req.stream()) {
            Generation.Outcome outcome = g.drain(stop, (text, tokenId, lp) -> { });
            exchange.json(answer.response(outcome, g.promptTokens, req.returnTokenIds(),
                    logprobs == null ? null : logprobs.render(outcome.ids(), outcome.logprobs())));
            return;
        }
        try (OutputStream out = exchange.eventStream()) {
            stream(out, g, stop, answer, req, logprobs);
        }
    }

    private void stream(OutputStream out, Generation g, StopMatcher stop, OpenAiJson answer, GenerationRequest req,
                        LogprobsJson logprobs) throws IOException {
        boolean chat = req.chat();
        if (chat) {
            send(out, answer.chunk("", true, null, null, null));
        }
        Generation.Outcome outcome = g.drain(stop, (text, tokenId, lp) -> {
            boolean token = tokenId >= 0;
            if (!text.isEmpty() || (req.returnTokenIds() && token) || (lp != null && logprobs != null)) {
                send(out, answer.chunk(text, false, req.returnTokenIds() && token ? List.of(tokenId) : null,
                        lp == null || logprobs == null ? null : logprobs.render(List.of(tokenId), List.of(lp)), null));
            }
        });
        send(out, answer.chunk(chat ? null : "", false, null, null, outcome.finishReason()));
        if (req.includeUsage()) {
            send(out, answer.usageChunk(g.promptTokens, outcome.ids().size()));
        }
        out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    String templateName() { return templates.name(); }

    private void send(OutputStream out, ObjectNode chunk) throws IOException {
        out.write(("data: " + json.writeValueAsString(chunk) + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private int[] promptIds(GenerationRequest req) {
        if (req.promptIds() != null) {
            return req.promptIds();
        }
        Tokenizer tokenizer = model.tokenizer().orElseThrow(() -> ApiException.invalid(req.promptField(),
                "the model has no text vocabulary: give the prompt as a list of token ids"));
        String text = req.chat() ? templates.render(req.messages()) : req.promptText();
        return tokenizer.encode(text, true, false);
    }
}
