package dev.tandem.runtime.engine;

import dev.tandem.runtime.error.ContextLengthException;
import dev.tandem.runtime.GenerationResult;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.StopReason;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.Devices;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The engine's contract at its edges: limits, overload, cancellation, failing callbacks, closing. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EngineTest {
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

    private EngineConfigException badConfig(EngineConfig config) {
        return assertThrows(EngineConfigException.class, () -> Engine.open(model, cpu, config));
    }

    @Test
    void configOutsideItsLimitsIsATypedErrorNamingTheLimit() {
        EngineConfig ok = EngineConfig.defaults(64);
        assertTrue(badConfig(ok.contextLength(0)).getMessage().contains("contextLength"));
        assertTrue(badConfig(ok.contextLength(513)).getMessage().contains("[1, 512]"));
        assertTrue(badConfig(ok.maxBatchTokens(-1)).getMessage().contains("maxBatchTokens"));
        assertTrue(badConfig(ok.maxBatchTokens(1 << 30)).getMessage().contains(String.valueOf(EngineConfig.MAX_BATCH_TOKENS)));
        assertTrue(badConfig(ok.maxSequences(0)).getMessage().contains("maxSequences"));
        assertTrue(badConfig(ok.queueCapacity(0)).getMessage().contains("queueCapacity"));
        assertTrue(badConfig(ok.blockSize(0)).getMessage().contains("blockSize"));
        assertTrue(badConfig(ok.kvBlocks(-3)).getMessage().contains("kvBlocks"));
        EngineConfigException tooSmall = badConfig(ok.blockSize(16).kvBlocks(3));
        assertTrue(tooSmall.getMessage().contains("cannot hold even one sequence") && tooSmall.getMessage().contains("4 blocks"),
                tooSmall.getMessage());
    }

    @Test
    void badPromptsAreTypedErrors() {
        try (Engine engine = Engine.open(model, cpu, EngineConfig.defaults(16))) {
            ContextLengthException e = assertThrows(ContextLengthException.class,
                    () -> engine.submit(new int[17], Sampling.greedy(), null));
            assertTrue(e.getMessage().contains("17 tokens") && e.getMessage().contains("16 positions"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> engine.submit(new int[0], Sampling.greedy(), null));
            IllegalArgumentException id = assertThrows(IllegalArgumentException.class,
                    () -> engine.submit(new int[] {1, -4}, Sampling.greedy(), null));
            assertTrue(id.getMessage().contains("-4"), id.getMessage());
        }
    }

    @Test
    void aFullQueueRejectsNewRequestsAsOverloaded() throws Exception {
        CountDownLatch inCallback = new CountDownLatch(1), release = new CountDownLatch(1);
        try (Engine engine = Engine.open(model, cpu, EngineConfig.defaults(32).queueCapacity(2))) {
            RequestHandle blocking = engine.submit(new int[] {1, 5}, Sampling.greedy().maxTokens(2).stopAtEos(false), t -> {
                inCallback.countDown();
                await(release);
            });
            awaitStart(inCallback, blocking);
            // The step thread waits in the callback: these two fill the queue, the third finds it full.
            RequestHandle a = engine.submit(new int[] {1, 6}, Sampling.greedy().maxTokens(1), null);
            RequestHandle b = engine.submit(new int[] {1, 7}, Sampling.greedy().maxTokens(1), null);
            EngineOverloadedException e = assertThrows(EngineOverloadedException.class,
                    () -> engine.submit(new int[] {1, 8}, Sampling.greedy(), null));
            assertEquals(2, e.queueCapacity());
            assertTrue(e.getMessage().contains("queueCapacity"), e.getMessage());
            release.countDown();
            assertEquals(2, blocking.result().join().generatedIds().length);
            assertEquals(1, a.result().join().generatedIds().length);
            assertEquals(1, b.result().join().generatedIds().length);
        }
    }

    @Test
    void cancellingFreesTheRequestsBlocksAtOnce() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        try (Engine engine = Engine.open(model, cpu, EngineConfig.defaults(256).blockSize(4).maxSequences(2))) {
            int total = engine.pool().blocks();
            RequestHandle h = engine.submit(new int[] {1, 9, 10}, Sampling.greedy().maxTokens(250).stopAtEos(false),
                    t -> started.countDown());
            awaitStart(started, h);
            h.cancel();
            assertThrows(CancellationException.class, () -> h.result().join());
            assertEquals(total, engine.freeKvBlocks(), "the cancelled request's blocks are free once its future says so");
            // The engine serves the next request as before.
            GenerationResult next = engine.submit(new int[] {1, 9}, Sampling.greedy().maxTokens(3).stopAtEos(false), null)
                    .result().join();
            assertEquals(3, next.generatedIds().length);
            assertEquals(StopReason.MAX_TOKENS, next.stopReason());
        }
    }

    @Test
    void aThrowingCallbackFailsOnlyItsOwnRequest() {
        try (Engine engine = Engine.open(model, cpu, EngineConfig.defaults(64))) {
            RequestHandle bad = engine.submit(new int[] {1, 11}, Sampling.greedy().maxTokens(5), t -> {
                throw new IllegalStateException("callback bug");
            });
            RequestHandle good = engine.submit(new int[] {1, 12}, Sampling.greedy().maxTokens(5).stopAtEos(false), null);
            CompletionException e = assertThrows(CompletionException.class, () -> bad.result().join());
            assertEquals("callback bug", e.getCause().getMessage());
            assertEquals(5, good.result().join().generatedIds().length);
        }
    }

    @Test
    void aRequestStopsWhereASessionWould() {
        try (Engine engine = Engine.open(model, cpu, EngineConfig.defaults(10).blockSize(3))) {
            GenerationResult full = engine.submit(new int[] {1, 5, 6}, Sampling.greedy().maxTokens(100).stopAtEos(false), null)
                    .result().join();
            assertEquals(StopReason.CONTEXT_FULL, full.stopReason());
            assertEquals(8, full.generatedIds().length, "7 positions after the prompt are fed back, the last token needs none");
            int first = full.generatedIds()[0];
            GenerationResult stopped = engine.submit(new int[] {1, 5, 6}, Sampling.greedy().maxTokens(100).stopAtEos(false)
                    .stopTokens(first), null).result().join();
            assertEquals(StopReason.EOS, stopped.stopReason());
            assertArrayEquals(new int[] {first}, stopped.generatedIds());
            GenerationResult none = engine.submit(new int[] {1, 5}, Sampling.greedy().maxTokens(0), null).result().join();
            assertEquals(0, none.generatedIds().length);
            assertEquals(model.config().vocabSize(), none.promptLogits().length);
        }
    }

    @Test
    void closingFailsOpenRequestsAndRefusesNewOnes() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        Engine engine = Engine.open(model, cpu, EngineConfig.defaults(512));
        RequestHandle h = engine.submit(new int[] {1, 13}, Sampling.greedy().maxTokens(500).stopAtEos(false), t -> started.countDown());
        awaitStart(started, h);
        engine.close();
        CompletionException e = assertThrows(CompletionException.class, () -> h.result().join());
        assertInstanceOf(IllegalStateException.class, e.getCause());
        assertThrows(IllegalStateException.class, () -> engine.submit(new int[] {1}, Sampling.greedy(), null));
    }

    /** Waits for the request's first token; a request that ends first fails the test with its own error. */
    private static void awaitStart(CountDownLatch started, RequestHandle h) throws InterruptedException {
        while (!started.await(100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
            if (h.isDone()) {
                GenerationResult r = h.result().join();
                throw new AssertionError("the request ended before its first token: " + r.stopReason());
            }
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
