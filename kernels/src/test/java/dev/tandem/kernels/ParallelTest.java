package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ParallelTest {
    /** Every index in [0, n) is visited exactly once, in chunks of at least minChunk (or one chunk when n is smaller). */
    @ParameterizedTest(name = "n {0} minChunk {1}")
    @CsvSource({"1,1", "2,1", "3,1", "5,1", "17,4", "1000,1", "100000,64", "7,100"})
    void coversEveryIndexOnce(int n, int minChunk) {
        AtomicIntegerArray seen = new AtomicIntegerArray(n);
        AtomicInteger shortChunks = new AtomicInteger();
        Parallel.forRange(n, minChunk, (start, end) -> {
            assertTrue(0 <= start && start < end && end <= n, start + ".." + end);
            if (end - start < Math.min(minChunk, n)) {
                shortChunks.incrementAndGet();
            }
            for (int i = start; i < end; i++) {
                seen.incrementAndGet(i);
            }
        });
        for (int i = 0; i < n; i++) {
            assertEquals(1, seen.get(i), "index " + i);
        }
        assertEquals(0, shortChunks.get(), "chunks shorter than minChunk: " + shortChunks.get());
    }

    @Test
    void emptyRangeNeverCallsTheBody() {
        Parallel.forRange(0, 1, (s, e) -> { throw new AssertionError("called for n=0"); });
        Parallel.forRange(-3, 1, (s, e) -> { throw new AssertionError("called for n<0"); });
    }

    @Test
    void threadCountFollowsConfig() {
        assertEquals(KernelConfig.threads(), Parallel.threads());
        assertTrue(KernelConfig.threads() >= 1);
    }

    @Test
    void reentrantCallsRunInline() {
        int n = 64;
        AtomicIntegerArray seen = new AtomicIntegerArray(n * n);
        Parallel.forRange(n, 1, (s, e) -> {
            for (int i = s; i < e; i++) {
                int row = i;
                Parallel.forRange(n, 1, (s2, e2) -> {
                    for (int j = s2; j < e2; j++) seen.incrementAndGet(row * n + j);
                });
            }
        });
        for (int i = 0; i < n * n; i++) assertEquals(1, seen.get(i), "index " + i);
    }

    @Test
    void concurrentCallersAllComplete() throws InterruptedException {
        int callers = 4;
        int n = 5000;
        AtomicIntegerArray seen = new AtomicIntegerArray(callers * n);
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < callers; c++) {
            int base = c * n;
            threads.add(Thread.ofPlatform().start(() -> {
                for (int rep = 0; rep < 50; rep++) {
                    Parallel.forRange(n, 16, (s, e) -> {
                        for (int i = s; i < e; i++) seen.incrementAndGet(base + i);
                    });
                }
            }));
        }
        for (Thread t : threads) t.join(60_000);
        for (int i = 0; i < callers * n; i++) assertEquals(50, seen.get(i), "index " + i);
    }

    @Test
    void manySmallCallsInARow() {
        // The decode-step pattern: many tiny calls back to back must all complete and see their writes.
        int[] data = new int[256];
        for (int rep = 0; rep < 2000; rep++) {
            int value = rep;
            Parallel.forRange(data.length, 8, (s, e) -> {
                for (int i = s; i < e; i++) data[i] = value;
            });
            for (int i = 0; i < data.length; i++) assertEquals(rep, data[i]);
        }
    }

    @Test
    void exceptionFromAChunkReachesTheCaller() {
        IllegalStateException boom = new IllegalStateException("boom");
        IllegalStateException thrown = assertThrows(IllegalStateException.class,
                () -> Parallel.forRange(1000, 1, (s, e) -> {
                    if (s <= 500 && 500 < e) throw boom;
                }));
        assertSame(boom, thrown);
        // and the pool still works afterwards
        AtomicInteger sum = new AtomicInteger();
        Parallel.forRange(100, 1, (s, e) -> sum.addAndGet(e - s));
        assertEquals(100, sum.get());
    }

    @Test
    void setThreadsResizesThePoolAndKeepsCoverage() {
        int initial = Parallel.threads();
        try {
            for (int threads : new int[] {3, 1, 2}) {
                Parallel.setThreads(threads);
                assertEquals(threads, Parallel.threads());
                java.util.Set<String> names = java.util.concurrent.ConcurrentHashMap.newKeySet();
                int n = 4000;
                AtomicIntegerArray seen = new AtomicIntegerArray(n);
                for (int rep = 0; rep < 20; rep++) {
                    Parallel.forRange(n, 1, (s, e) -> {
                        names.add(Thread.currentThread().getName());
                        for (int i = s; i < e; i++) seen.incrementAndGet(i);
                    });
                }
                for (int i = 0; i < n; i++) assertEquals(20, seen.get(i), "index " + i + " at " + threads + " threads");
                assertTrue(names.size() <= threads, "ran on " + names + " with " + threads + " threads");
            }
        } finally {
            Parallel.setThreads(initial);
        }
        assertEquals(initial, Parallel.threads());
    }

    @Test
    void setThreadsRejectsLessThanOne() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Parallel.setThreads(0));
        assertTrue(e.getMessage().contains("threads"), e.getMessage());
    }
}
