package dev.tandem.runtime.engine;

import dev.tandem.runtime.GenerationResult;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.Token;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.Devices;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link RequestHandle#tokens()}: the Reactive Streams rules an engine request's publisher keeps. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TokenPublisherTest {
    private Model model;
    private Device cpu;

    @BeforeAll
    void open() {
        model = Model.synthetic();
        cpu = Devices.open("cpu");
    }

    @AfterAll
    void close() {
        cpu.close();
        model.close();
    }

    /** Records every signal and counts onNext calls beyond what it requested. */
    private static final class Recorder implements Flow.Subscriber<Token> {
        final List<Token> tokens = new CopyOnWriteArrayList<>();
        final AtomicLong requested = new AtomicLong();
        final AtomicInteger overDemand = new AtomicInteger(), ends = new AtomicInteger();
        final CompletableFuture<Throwable> end = new CompletableFuture<>();   // null on onComplete
        final CompletableFuture<Flow.Subscription> subscription = new CompletableFuture<>();
        final long initial;
        volatile CountDownLatch received;

        Recorder(long initial, int awaitTokens) {
            this.initial = initial;
            this.received = new CountDownLatch(awaitTokens);
        }

        void request(long n) {
            requested.addAndGet(n);
            subscription.join().request(n);
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription.complete(s);
            if (initial > 0) {
                request(initial);
            }
        }

        @Override
        public void onNext(Token t) {
            tokens.add(t);
            if (tokens.size() > requested.get()) {
                overDemand.incrementAndGet();
            }
            received.countDown();
        }

        @Override
        public void onError(Throwable e) {
            ends.incrementAndGet();
            end.complete(e);
        }

        @Override
        public void onComplete() {
            ends.incrementAndGet();
            end.complete(null);
        }

        int[] ids() { return tokens.stream().mapToInt(Token::id).toArray(); }
    }

    @Test
    void aSlowSubscriberGetsOnlyWhatItAsksForAndLosesNothing() throws Exception {
        try (Engine engine = Engine.open(model, cpu, EngineConfig.defaults(128))) {
            RequestHandle h = engine.submit(new int[] {1, 7, 8}, Sampling.greedy().maxTokens(20).stopAtEos(false));
            Recorder r = new Recorder(3, 3);
            h.tokens().subscribe(r);
            GenerationResult result = h.result().join();
            r.received.await();
            // The request has finished and every token waits in the publisher: only the 3 asked for were delivered.
            assertEquals(3, r.tokens.size());
            assertTrue(!r.end.isDone(), "no onComplete while tokens wait for demand");
            r.request(Long.MAX_VALUE - 3);
            assertEquals(null, r.end.get(), "onComplete after the last token");
            assertArrayEquals(result.generatedIds(), r.ids(), "every token, in order");
            assertEquals(0, r.overDemand.get(), "never more onNext than requested");
            assertEquals(1, r.ends.get());
            for (int i = 0; i < r.tokens.size(); i++) {
                assertEquals(3 + i, r.tokens.get(i).position(), "token " + i + "'s position");
            }
        }
    }

    @Test
    void cancellingTheSubscriptionCancelsTheRequestAndFreesItsBlocks() throws Exception {
        try (Engine engine = Engine.open(model, cpu, EngineConfig.defaults(256).blockSize(4).maxSequences(2))) {
            int total = engine.pool().blocks();
            RequestHandle h = engine.submit(new int[] {1, 9, 10}, Sampling.greedy().maxTokens(250).stopAtEos(false));
            Recorder r = new Recorder(1, 1);
            h.tokens().subscribe(r);
            r.received.await();
            r.subscription.join().cancel();
            assertThrows(CancellationException.class, () -> h.result().join());
            assertEquals(total, engine.freeKvBlocks(), "the request's blocks are free once its future says so");
            assertEquals(1, r.tokens.size(), "nothing after cancel beyond what was asked for");
            assertEquals(0, r.ends.get(), "a cancelled subscription is not signalled again");
        }
    }

    @Test
    void aSecondSubscriberAndANonPositiveRequestAreRefusedWithOnError() throws Exception {
        try (Engine engine = Engine.open(model, cpu, EngineConfig.defaults(512))) {
            RequestHandle h = engine.submit(new int[] {1, 3}, Sampling.greedy().maxTokens(400).stopAtEos(false));
            Recorder first = new Recorder(0, 0), second = new Recorder(0, 0);
            h.tokens().subscribe(first);
            first.subscription.join();
            h.tokens().subscribe(second);
            assertInstanceOf(IllegalStateException.class, second.end.get());
            first.request(0);
            assertInstanceOf(IllegalArgumentException.class, first.end.get(), "rule 3.9");
            assertThrows(CancellationException.class, () -> h.result().join(), "the refused subscriber's request stops");
            RequestHandle callback = engine.submit(new int[] {1, 3}, Sampling.greedy().maxTokens(2), t -> {});
            IllegalStateException e = assertThrows(IllegalStateException.class, callback::tokens);
            assertTrue(e.getMessage().contains("callback"), e.getMessage());
            callback.result().join();
        }
    }

    @Test
    void manyThreadsSubmitAndSubscribeAtOnceEachGettingItsOwnTokens() throws Exception {
        int threads = 8;
        try (Engine engine = Engine.open(model, cpu, EngineConfig.defaults(128).maxSequences(4));
             ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<int[][]>> runs = new java.util.ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int[] prompt = {1, 20 + t, 30 + t};
                int steps = 4 + t;
                runs.add(pool.submit(() -> {
                    go.await();
                    RequestHandle h = engine.submit(prompt, Sampling.greedy().maxTokens(steps).stopAtEos(false));
                    Recorder r = new Recorder(Long.MAX_VALUE, 0);
                    h.tokens().subscribe(r);
                    Throwable end = r.end.get();
                    if (end != null) {
                        throw new AssertionError(end);
                    }
                    return new int[][] {r.ids(), h.result().join().generatedIds()};
                }));
            }
            go.countDown();
            for (int t = 0; t < threads; t++) {
                int[][] got = runs.get(t).get();
                assertEquals(4 + t, got[1].length, "thread " + t + "'s request ran to its max tokens");
                assertArrayEquals(got[1], got[0], "thread " + t + "'s publisher carried its own request's tokens");
            }
        }
    }
}
