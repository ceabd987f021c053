package dev.tandem.runtime.engine;

import dev.tandem.runtime.GenerationResult;
import dev.tandem.runtime.Token;

import java.util.ArrayDeque;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * One request's tokens as a {@link Flow.Publisher} for one subscriber, under the Reactive Streams
 * rules: never more onNext calls than requested; then onComplete when the request finishes, or
 * onError when it fails or the engine closes. A subscriber's cancel cancels the request, whose KV
 * blocks are back in the pool before the engine's next step.
 *
 * <p>Backpressure without stalling the batch: the step thread only appends each token to this
 * publisher's queue (it never waits for a subscriber), and the subscriber is called on the executor,
 * one signal at a time, as far as its demand reaches. What waits in the queue is at most the
 * request's max tokens, so a slow subscriber costs memory bounded by its own request.
 */
final class TokenPublisher implements Flow.Publisher<Token>, Consumer<Token> {
    private final Executor executor;
    private final Queue<Token> queue = new ArrayDeque<>();   // guarded by this
    private final AtomicInteger work = new AtomicInteger();
    private volatile Runnable cancelRequest;
    private volatile CompletableFuture<GenerationResult> end;
    private boolean subscribed;                              // guarded by this
    private Flow.Subscriber<? super Token> subscriber;       // guarded by this; set once its onSubscribe returned
    private long demand;                                     // guarded by this
    private boolean cancelled, terminated;                   // guarded by this
    private Throwable badRequest;                            // guarded by this

    TokenPublisher(Executor executor) {
        this.executor = executor;
    }

    /** Wires the request: cancelRequest stops it, end completes when it does. Called once, before any token. */
    void attach(Runnable cancelRequest, CompletableFuture<GenerationResult> end) {
        this.cancelRequest = cancelRequest;
        this.end = end;
        end.whenComplete((r, e) -> signal());
    }

    /** A token the engine chose (on its step thread): queued, then delivered as demand allows. */
    @Override
    public void accept(Token token) {
        synchronized (this) {
            if (cancelled || terminated) {
                return;
            }
            queue.add(token);
        }
        signal();
    }

    @Override
    public void subscribe(Flow.Subscriber<? super Token> s) {
        Objects.requireNonNull(s, "subscriber");
        synchronized (this) {
            if (subscribed) {
                executor.execute(() -> {
                    s.onSubscribe(new Flow.Subscription() {
                        @Override
                        public void request(long n) {}

                        @Override
                        public void cancel() {}
                    });
                    s.onError(new IllegalStateException("a request's tokens have one subscriber; this one already has one"));
                });
                return;
            }
            subscribed = true;
        }
        executor.execute(() -> {
            s.onSubscribe(new Flow.Subscription() {
                @Override
                public void request(long n) {
                    synchronized (TokenPublisher.this) {
                        if (n <= 0) {
                            badRequest = new IllegalArgumentException("request(" + n + "): demand must be positive (rule 3.9)");
                        } else {
                            demand = demand + n < 0 ? Long.MAX_VALUE : demand + n;
                        }
                    }
                    signal();
                }

                @Override
                public void cancel() {
                    synchronized (TokenPublisher.this) {
                        if (cancelled || terminated) {
                            return;
                        }
                        cancelled = true;
                        queue.clear();
                    }
                    cancelRequest.run();
                }
            });
            // Only now may the drain signal it: onSubscribe and onNext never overlap (rule 1.3).
            synchronized (this) {
                subscriber = s;
            }
            signal();
        });
    }

    /** Schedules a drain unless one is already running; the running one sees this signal too. */
    private void signal() {
        if (work.getAndIncrement() == 0) {
            executor.execute(this::drain);
        }
    }

    /** Delivers what demand allows, then the end, one thread at a time. */
    private void drain() {
        int missed = 1;
        while (true) {
            deliver();
            missed = work.addAndGet(-missed);
            if (missed == 0) {
                return;
            }
        }
    }

    private void deliver() {
        while (true) {
            Flow.Subscriber<? super Token> s;
            Token next = null;
            Throwable error = null;
            boolean complete = false, refused = false;
            synchronized (this) {
                s = subscriber;
                if (s == null || cancelled || terminated) {
                    return;
                }
                if (badRequest != null) {
                    error = badRequest;
                    refused = true;
                    terminated = true;
                } else if (demand > 0 && !queue.isEmpty()) {
                    next = queue.poll();
                    demand--;
                } else if (queue.isEmpty() && end != null && end.isDone()) {
                    terminated = true;
                    error = failure(end);
                    complete = error == null;
                } else {
                    return;
                }
            }
            if (next != null) {
                s.onNext(next);
            } else if (complete) {
                s.onComplete();
                return;
            } else {
                if (refused) {
                    cancelRequest.run();
                }
                s.onError(error);
                return;
            }
        }
    }

    /** Why the request ended without a result, or null when it finished. */
    private static Throwable failure(CompletableFuture<GenerationResult> end) {
        try {
            end.join();
            return null;
        } catch (CancellationException e) {
            return e;
        } catch (java.util.concurrent.CompletionException e) {
            return e.getCause();
        }
    }
}
