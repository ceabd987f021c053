package dev.tandem.loadgen;

import dev.tandem.runtime.GenerationResult;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.engine.Engine;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** Requests to an in-process {@link Engine}; the first token's time is read in the engine's token callback. */
final class EngineTarget implements LoadTarget {
    private final Engine engine;
    private final String description;

    EngineTarget(Engine engine, String description) {
        this.engine = engine;
        this.description = description;
    }

    @Override
    public RequestTiming run(int[] promptIds, int maxTokens) {
        AtomicLong first = new AtomicLong();
        AtomicLong last = new AtomicLong();
        AtomicInteger count = new AtomicInteger();
        long start = System.nanoTime();
        GenerationResult result = engine.submit(promptIds, Sampling.greedy().maxTokens(maxTokens).stopAtEos(false), t -> {
            long now = System.nanoTime();
            first.compareAndSet(0, now);
            last.set(now);
            count.incrementAndGet();
        }).result().join();
        int tokens = Math.max(count.get(), result.generatedIds().length);
        return new RequestTiming(start, first.get(), last.get() == 0 ? System.nanoTime() : last.get(), promptIds.length, tokens);
    }

    @Override
    public String describe() { return description; }

    /** The engine's device, or its plan's devices. */
    String deviceName() { return engine.deviceName(); }

    /**
     * On a plan: its decode steps, predicted against measured, its emulated blocks against their
     * predicted cycles, and each device's busy time, in one line; null on one device.
     */
    String planSummary() {
        return engine.planStats().map(s -> String.format(java.util.Locale.ROOT,
                "plan %s: %d decode steps, mean %.3f ms predicted, %.3f ms measured; %d micro-batched;"
                        + " emulated blocks %d exact, %d inexact%s; busy s %s",
                s.plan(), s.decodeSteps(), 1e3 * s.predictedSeconds() / Math.max(1, s.decodeSteps()),
                1e3 * s.measuredSeconds() / Math.max(1, s.decodeSteps()), s.microBatchedSteps(), s.exactBlocks(), s.inexactBlocks(),
                s.firstInexact() == null ? "" : " (first: " + s.firstInexact() + ")", engine.deviceBusySeconds())).orElse(null);
    }

    @Override
    public void close() { engine.close(); }
}
