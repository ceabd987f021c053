package dev.tandem.loadgen;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs a bounded number of requests per level against a target. Every level sends the same
 * requests (prompts and lengths drawn from one seed), so levels differ only in load. Requests run
 * on virtual threads; a request that fails is counted and the level goes on.
 */
final class Sweep {
    /** One request's prompt ids and output length. */
    record Request(int[] promptIds, int outputTokens) {}

    private final LoadTarget target;
    private final List<Request> requests;
    private final long seed;
    private final double watts;

    Sweep(LoadTarget target, List<Request> requests, long seed, double watts) {
        this.target = target;
        this.requests = List.copyOf(requests);
        this.seed = seed;
        this.watts = watts;
    }

    /** count requests with prompt ids uniform in [1, vocab) (id 0 is often padding or unknown). */
    static List<Request> draw(int count, LengthSpec prompt, LengthSpec output, int vocab, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Request> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int[] ids = new int[prompt.draw(random)];
            for (int j = 0; j < ids.length; j++) {
                ids[j] = vocab > 1 ? random.nextInt(1, vocab) : 0;
            }
            out.add(new Request(ids, output.draw(random)));
        }
        return out;
    }

    /** Clients each send their next request when their last one finishes. */
    LevelReport atConcurrency(int clients) throws InterruptedException {
        RequestTiming[] done = new RequestTiming[requests.size()];
        AtomicInteger next = new AtomicInteger();
        Failures failed = new Failures();
        long start = System.nanoTime();
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            threads.add(Thread.ofVirtual().name("bench-client-" + c).start(() -> {
                for (int i; (i = next.getAndIncrement()) < done.length; ) {
                    done[i] = runOne(requests.get(i), failed);
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        return LevelReport.of(clients, null, Arrays.asList(done), failed.count.get(), failed.first.get(), System.nanoTime() - start, watts);
    }

    /** Requests arrive as a Poisson process of the given rate (seeded), each on its own thread. */
    LevelReport atRate(double perSecond) throws InterruptedException {
        RequestTiming[] done = new RequestTiming[requests.size()];
        Failures failed = new Failures();
        SplittableRandom arrivals = new SplittableRandom(seed ^ 0x9E3779B97F4A7C15L);
        List<Thread> threads = new ArrayList<>();
        long start = System.nanoTime();
        double at = 0;
        for (int i = 0; i < done.length; i++) {
            at += -Math.log(1 - arrivals.nextDouble()) / perSecond;
            long wait = start + (long) (at * 1e9) - System.nanoTime();
            if (wait > 0) {
                Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            }
            int index = i;
            threads.add(Thread.ofVirtual().name("bench-request-" + i).start(() -> done[index] = runOne(requests.get(index), failed)));
        }
        for (Thread t : threads) {
            t.join();
        }
        return LevelReport.of(null, perSecond, Arrays.asList(done), failed.count.get(), failed.first.get(), System.nanoTime() - start, watts);
    }

    /** Runs requests one at a time and discards the timings: JIT and caches warm before the levels. */
    void warmUp(int count) {
        Failures ignored = new Failures();
        for (int i = 0; i < Math.min(count, requests.size()); i++) {
            runOne(requests.get(i), ignored);
        }
    }

    private RequestTiming runOne(Request r, Failures failed) {
        try {
            return target.run(r.promptIds(), r.outputTokens());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failed.add(e);
            return null;
        } catch (Exception e) {
            failed.add(e);
            return null;
        }
    }

    /** How many requests failed, and the first one's reason. */
    private static final class Failures {
        final AtomicInteger count = new AtomicInteger();
        final AtomicReference<String> first = new AtomicReference<>();

        void add(Exception e) {
            count.incrementAndGet();
            Throwable cause = e.getCause() != null && e instanceof java.util.concurrent.CompletionException ? e.getCause() : e;
            first.compareAndSet(null, cause.getClass().getSimpleName() + ": " + cause.getMessage());
        }
    }
}
