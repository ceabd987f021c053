package dev.tandem.loadgen;

import dev.tandem.runtime.GenerationResult;
import dev.tandem.runtime.Sampling;
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

    @Override
    public void close() { engine.close(); }
}
