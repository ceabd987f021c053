package dev.tandem.runtime.engine;

import dev.tandem.runtime.GenerationResult;

import java.util.concurrent.CompletableFuture;

/**
 * A request submitted to an {@link Engine}. Thread-safe: any thread may cancel it or wait for it.
 * Tokens stream to the callback given at submission, on the engine's step thread.
 */
public final class RequestHandle {
    private final RequestState state;
    private final Engine engine;

    RequestHandle(RequestState state, Engine engine) {
        this.state = state;
        this.engine = engine;
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
