package dev.tandem.server;

import dev.tandem.runtime.error.ContextLengthException;
import dev.tandem.runtime.GenerationResult;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.Token;
import dev.tandem.runtime.TokenLogprobs;
import dev.tandem.runtime.engine.Engine;
import dev.tandem.runtime.engine.EngineOverloadedException;
import dev.tandem.runtime.engine.RequestHandle;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One request in the engine, seen from an HTTP thread: the engine's step thread hands tokens to a
 * queue (it must not block on a slow client), the HTTP thread takes them, applies the stop strings
 * and passes text on. A client that goes away ({@link IOException} from the sink) cancels the
 * request, which frees its KV blocks.
 */
final class Generation {
    private sealed interface Event permits Piece, End {}

    private record Piece(int id, String text, TokenLogprobs logprobs) implements Event {}

    private record End(GenerationResult result, Throwable failure) implements Event {}

    /**
     * Where the text goes as it is generated: an SSE stream, or nothing until the end. id is -1 (and
     * logprobs null) for text the stop matcher held back and releases at the end.
     */
    interface Sink {
        void piece(String text, int id, TokenLogprobs logprobs) throws IOException;
    }

    /**
     * How a generation ended: the text kept, the ids generated, their log-probabilities (one per id
     * when the request asked for them, else empty), OpenAI's finish_reason.
     */
    record Outcome(String text, List<Integer> ids, List<TokenLogprobs> logprobs, String finishReason) {}

    private final LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final ServerMetrics metrics;
    private final AtomicBoolean started = new AtomicBoolean();
    private final long submittedAt = System.nanoTime();
    /** Written by the step thread only. */
    private long lastTokenAt;
    private RequestHandle handle;
    final int promptTokens;

    private Generation(int promptTokens, ServerMetrics metrics) {
        this.promptTokens = promptTokens;
        this.metrics = metrics;
    }

    /**
     * Submits prompt to engine.
     * @throws ApiException 400 for a prompt the engine refuses (naming promptField), 429 when its queue is
     *                      full, 503 when it is closed
     */
    static Generation submit(Engine engine, int[] prompt, Sampling sampling, ServerMetrics metrics, String promptField) {
        Generation g = new Generation(prompt.length, metrics);
        try {
            g.handle = engine.submit(prompt, sampling, g::onToken);
        } catch (ContextLengthException | IllegalArgumentException e) {
            throw ApiException.invalid(promptField, e.getMessage());
        } catch (EngineOverloadedException e) {
            throw new ApiException(429, "rate_limit_exceeded", null, e.getMessage(), 1);
        } catch (IllegalStateException e) {
            throw new ApiException(503, "server_error", null, e.getMessage(), 5);
        }
        metrics.queued.inc();
        metrics.promptTokens.inc(prompt.length);
        g.handle.result().whenComplete((r, e) -> {
            if (g.started.get()) {
                metrics.running.dec();
            } else {
                metrics.queued.dec();
            }
            g.events.add(new End(r, e));
        });
        return g;
    }

    /** On the engine's step thread. */
    private void onToken(Token t) {
        long now = System.nanoTime();
        if (started.compareAndSet(false, true)) {
            metrics.queued.dec();
            metrics.running.inc();
            metrics.ttft.observe((now - submittedAt) / 1e9);
        } else {
            metrics.interToken.observe((now - lastTokenAt) / 1e9);
        }
        lastTokenAt = now;
        metrics.generatedTokens.inc();
        metrics.batchSize.observe(metrics.running.get());
        events.add(new Piece(t.id(), t.text(), t.logprobs()));
    }

    /**
     * Passes the generation to sink until it ends or stop matches (then cancels it); a sink that throws
     * IOException (the client left) cancels it too, and the exception propagates.
     * @throws ApiException 500 when the engine failed the request, 503 when it closed first
     */
    Outcome drain(StopMatcher stop, Sink sink) throws IOException {
        StringBuilder text = new StringBuilder();
        List<Integer> ids = new ArrayList<>();
        List<TokenLogprobs> logprobs = new ArrayList<>();
        try {
            while (true) {
                Event e = events.take();
                if (e instanceof Piece p) {
                    ids.add(p.id());
                    if (p.logprobs() != null) {
                        logprobs.add(p.logprobs());
                    }
                    String out = stop.accept(p.text());
                    text.append(out);
                    sink.piece(out, p.id(), p.logprobs());
                    if (stop.stopped()) {
                        handle.cancel();
                        return new Outcome(text.toString(), ids, logprobs, "stop");
                    }
                } else if (e instanceof End end) {
                    if (end.failure() != null) {
                        throw failure(end.failure());
                    }
                    String tail = stop.flush();
                    text.append(tail);
                    if (!tail.isEmpty()) {
                        sink.piece(tail, -1, null);
                    }
                    return new Outcome(text.toString(), ids, logprobs, switch (end.result().stopReason()) {
                        case EOS -> "stop";
                        case MAX_TOKENS, CONTEXT_FULL -> "length";
                    });
                }
            }
        } catch (IOException e) {
            handle.cancel();
            metrics.cancelled.inc();
            throw e;
        } catch (InterruptedException e) {
            handle.cancel();
            Thread.currentThread().interrupt();
            throw new ApiException(503, "server_error", null, "the server is shutting down", 5);
        }
    }

    private static ApiException failure(Throwable t) {
        Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        if (cause instanceof CancellationException || cause instanceof IllegalStateException) {
            return new ApiException(503, "server_error", null, "the request was stopped: " + cause.getMessage(), 5);
        }
        return new ApiException(500, "server_error", null, "generation failed: " + cause, 0);
    }
}
