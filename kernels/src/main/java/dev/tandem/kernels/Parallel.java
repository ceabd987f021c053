package dev.tandem.kernels;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed pool of daemon worker threads ({@link KernelConfig#threads()} - 1 of them; the calling thread
 * is the last worker) that runs index ranges in parallel.
 *
 * <p>A decode step calls this ~100 times with only microseconds of work each, so it avoids executor
 * machinery: a call publishes one small job object, workers that are still spinning from the previous
 * call pick it up at once (parked ones are unparked), and everybody claims chunks from one atomic
 * counter. The caller waits for the chunks to finish, not for the workers, so a slow-to-wake worker
 * never delays a call whose chunks the others already took.
 *
 * <p>The pool runs one call at a time. A call made while it is busy (re-entrantly from a body, from a
 * worker, or concurrently from another thread) runs inline on the calling thread, which keeps it
 * deadlock-free at the cost of that call being single-threaded.
 */
public final class Parallel {
    private Parallel() {}

    /** Work over the half-open index range [start, end). */
    @FunctionalInterface
    public interface RangeBody {
        void run(int start, int end);
    }

    /** Chunks per thread: a few more than one so uneven chunks (or a busy core) balance out. */
    private static final int CHUNKS_PER_THREAD = 4;
    /**
     * How long an idle worker spins before parking: longer than the gap between two kernels of a
     * decode step (rmsnorm, rope and attention run on the caller alone), because waking a parked
     * thread on a VM costs tens of microseconds at the start of every matvec. 1 ms made the
     * stories110M-shaped F32 decode step 11 % faster than 50 us (interleaved JMH runs).
     */
    private static final long SPIN_NANOS = KernelConfig.spinMicros() * 1000L;

    /**
     * {@link #SPIN_NANOS}, except none while the matrices run their cold-start twins: in those
     * first tokens the JIT compiler threads are busy compiling the kernels on the same two cores, and
     * a thread spinning between matvecs takes a core from them (a cold first token spent ~15 % fewer
     * CPU milliseconds and ~20 % less time without the spin, docs/benchmarks.md "Cold start"); the
     * ~50 wake-ups per token that parking costs instead are noise next to a cold token.
     */
    private static long spinNanos() {
        return ColdStart.matricesRunning() ? 0 : SPIN_NANOS;
    }

    /** Replaced (never mutated) by {@link #setThreads}, only while {@link #BUSY} is held. */
    private static volatile Worker[] workers = startWorkers(KernelConfig.threads() - 1);
    private static final AtomicBoolean BUSY = new AtomicBoolean();
    private static volatile Job current;

    /**
     * Runs body over [0, n) split into near-equal chunks of at least minChunk indices (one chunk when n is smaller),
     * on the pool and the calling thread, and returns when all are done. An exception thrown by a
     * chunk is rethrown here after the other chunks finish.
     */
    public static void forRange(int n, int minChunk, RangeBody body) {
        if (n <= 0) {
            return;
        }
        int min = Math.max(1, minChunk);
        Worker[] pool = workers;
        int threads = pool.length + 1;
        // floor(n / min) chunks, so that splitting evenly never makes one smaller than minChunk.
        int chunks = (int) Math.min(n / min, (long) threads * CHUNKS_PER_THREAD);
        if (chunks <= 1 || threads == 1 || Thread.currentThread() instanceof Worker
                || !BUSY.compareAndSet(false, true)) {
            body.run(0, n);
            return;
        }
        try {
            Job job = new Job(n, chunks, body);
            current = job;
            for (Worker w : pool) {
                if (w.parked) {
                    LockSupport.unpark(w);
                }
            }
            job.work();
            job.awaitDone();
            current = null;
            job.rethrow();
        } finally {
            BUSY.set(false);
        }
    }

    /** Number of threads calls are spread over, the caller included. */
    public static int threads() {
        return workers.length + 1;
    }

    /**
     * Spreads later calls over {@code threads} threads (the caller included): the current workers
     * retire and new ones start. Waits for a running call to finish first. Results do not depend on
     * the count (every index is computed the same way whichever thread runs it), only speed does.
     */
    public static void setThreads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        while (!BUSY.compareAndSet(false, true)) {
            Thread.onSpinWait();
        }
        try {
            Worker[] old = workers;
            if (old.length + 1 == threads) {
                return;
            }
            for (Worker w : old) {
                w.retired = true;
                LockSupport.unpark(w);
            }
            workers = startWorkers(threads - 1);
        } finally {
            BUSY.set(false);
        }
    }

    private static Worker[] startWorkers(int count) {
        Worker[] workers = new Worker[Math.max(0, count)];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker(i);
            workers[i].start();
        }
        return workers;
    }

    /** One forRange call: chunk c covers [c*n/chunks, (c+1)*n/chunks). */
    private static final class Job {
        final int n;
        final int chunks;
        final RangeBody body;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        final Thread owner = Thread.currentThread();
        volatile RuntimeException runtimeFailure;
        volatile Error errorFailure;

        Job(int n, int chunks, RangeBody body) {
            this.n = n;
            this.chunks = chunks;
            this.body = body;
        }

        void work() {
            int c;
            while ((c = next.getAndIncrement()) < chunks) {
                int start = (int) ((long) c * n / chunks);
                int end = (int) ((long) (c + 1) * n / chunks);
                try {
                    body.run(start, end);
                } catch (RuntimeException e) {
                    runtimeFailure = e;
                } catch (Error e) {
                    errorFailure = e;
                }
                if (done.incrementAndGet() == chunks) {
                    LockSupport.unpark(owner);
                }
            }
        }

        void awaitDone() {
            // The caller usually finishes last or nearly so: spin briefly, then park.
            long spinUntil = System.nanoTime() + spinNanos();
            while (done.get() < chunks) {
                if (System.nanoTime() < spinUntil) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.parkNanos(this, 100_000);
                }
            }
        }

        void rethrow() {
            if (errorFailure != null) {
                throw errorFailure;
            }
            if (runtimeFailure != null) {
                throw runtimeFailure;
            }
        }
    }

    private static final class Worker extends Thread {
        /** Set while parked (or about to park), so the publisher knows to unpark it. */
        volatile boolean parked;
        /** Set by {@link #setThreads} when a new pool replaces this worker's: it exits when idle. */
        volatile boolean retired;

        Worker(int index) {
            super("tandem-kernels-" + index);
            setDaemon(true);
        }

        @Override
        public void run() {
            Job seen = null;
            while (!retired) {
                Job job = current;
                if (job != null && job != seen) {
                    seen = job;
                    job.work();
                    continue;
                }
                long spinUntil = System.nanoTime() + spinNanos();
                while ((job = current) == null || job == seen) {
                    if (retired) {
                        return;
                    }
                    if (System.nanoTime() < spinUntil) {
                        Thread.onSpinWait();
                        continue;
                    }
                    // Volatile write then read, mirrored by the publisher's write of current then read
                    // of parked: one of the two always sees the other, so no wake-up is lost.
                    parked = true;
                    job = current;
                    if ((job == null || job == seen) && !retired) {
                        LockSupport.park(this);
                    }
                    parked = false;
                }
            }
        }
    }
}
