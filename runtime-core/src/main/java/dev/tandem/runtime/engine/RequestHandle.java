package dev.tandem.runtime.engine;

import dev.tandem.runtime.GenerationResult;
import dev.tandem.runtime.Token;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;

/**
 * A request submitted to an {@link Engine}. Thread-safe: any thread may cancel it or wait for it.
 * Tokens stream to the callback given at submission, on the engine's step thread, or, for a request
 * submitted without one, to the subscriber of {@link #tokens()}.
 */
public final class RequestHandle {
    private final RequestState state;
    private final Engine engine;
    private final TokenPublisher tokens;

    RequestHandle(RequestState state, Engine engine, TokenPublisher tokens) {
        this.state = state;
        this.engine = engine;
        this.tokens = tokens;
    }

    /**
     * The request's tokens for one subscriber: as many as it requests, in order, then onComplete
     * when the request finishes or onError when it fails (a {@link java.util.concurrent.CancellationException}
     * after {@link #cancel()}). Cancelling the subscription cancels the request. Tokens chosen before
     * the subscription wait for it; none is lost.
     * @throws IllegalStateException for a request submitted with a token callback, which gets them instead
     */
    public Flow.Publisher<Token> tokens() {
        if (tokens == null) {
            throw new IllegalStateException("request " + state.id + " was submitted with a token callback, which gets its tokens;"
                    + " submit without one (Engine.submit(prompt, sampling)) for a publisher");
        }
        return tokens;
    }

    /** The order of submission: earlier requests have smaller ids. */
    public long id() { return state.id; }

    /**
     * Completes with what was generated; cancelled (a {@link java.util.concurrent.CancellationException}
     * on join/get) after {@link #cancel()}, and exceptional when the request failed or the engine closed
     * first. A copy: completing or cancelling it does not touch the request.
     */
    public CompletableFuture<GenerationResult> result() {
        CompletableFuture<GenerationResult> view = new CompletableFuture<>();
        state.future.whenComplete((r, e) -> {
            if (e == null) {
                view.complete(r);
            } else if (e instanceof java.util.concurrent.CancellationException) {
                view.cancel(false);
            } else {
                view.completeExceptionally(e);
            }
        });
        return view;
    }

    /**
     * Stops the request. Its KV blocks are back in the pool before the engine's next step, and before
     * {@link #result()} reports the cancellation. Harmless once the request has finished.
     */
    public void cancel() {
        state.cancelled = true;
        engine.wake();
    }

    public boolean isDone() { return state.future.isDone(); }
}
