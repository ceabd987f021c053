package dev.tandem.runtime.engine;

import dev.tandem.runtime.device.BatchRows;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Queue;

/**
 * Iteration-level (continuous) batching: before every step it decides which sequences run and how
 * many of their tokens. Running sequences go first, in admission order: a decoding one adds its one
 * token, a prefilling one a chunk of its prompt as far as the step's token budget allows; then
 * waiting requests are admitted first come, first served, while the budget, the sequence limit and
 * the pool's free blocks allow (the queue's head is never skipped). When a running sequence needs a
 * block and the pool is dry, the youngest running sequence is preempted: its blocks go back to the
 * pool and it waits at the head of the queue to be recomputed from its tokens (prompt and what it
 * generated), which gives the same bits since every row is computed alone. The pool holds at least
 * one full context, so the oldest sequence always progresses. Step-thread only.
 */
final class Scheduler {
    /** One sequence's share of a step: rows for tokens [pos0, pos0 + count). */
    record Segment(RequestState request, int pos0, int count, boolean needsLogits) {}

    /** A step: its segments in row order and the rows they make. */
    record Step(List<Segment> segments, int[] tokens, BatchRows rows, int[] logitRows) {}

    private final KvBlockPool pool;
    private final int maxSequences, maxBatchTokens;
    private final List<RequestState> running = new ArrayList<>();
    private final ArrayDeque<RequestState> preempted = new ArrayDeque<>();
    private volatile long preemptions;

    Scheduler(KvBlockPool pool, int maxSequences, int maxBatchTokens) {
        this.pool = pool;
        this.maxSequences = maxSequences;
        this.maxBatchTokens = maxBatchTokens;
    }

    boolean idle() { return running.isEmpty() && preempted.isEmpty(); }

    long preemptions() { return preemptions; }

    /** The next step, taking admitted requests from incoming; null when there is nothing to run. */
    Step next(Queue<RequestState> incoming) {
        List<Segment> segments = new ArrayList<>();
        int budget = maxBatchTokens;
        for (int i = 0; i < running.size() && budget > 0; i++) {
            RequestState r = running.get(i);
            int n = Math.min(r.pending(), budget);
            if (!reserve(r, n)) {
                // r was the youngest left and had to go: everything after it is gone too.
                break;
            }
            segments.add(segment(r, n));
            budget -= n;
        }
        while (budget > 0 && running.size() < maxSequences) {
            RequestState r = preempted.isEmpty() ? incoming.peek() : preempted.peekFirst();
            if (r == null) {
                break;
            }
            int n = Math.min(r.pending(), budget);
            if (pool.spec().blocksFor(n) > pool.freeBlocks()) {
                break;
            }
            if (preempted.isEmpty()) {
                incoming.poll();
            } else {
                preempted.pollFirst();
            }
            running.add(r);
            grow(r, n);
            segments.add(segment(r, n));
            budget -= n;
        }
        return segments.isEmpty() ? null : build(segments);
    }

    /** Blocks for r's next n tokens, preempting the youngest running sequences as needed; false when r itself went. */
    private boolean reserve(RequestState r, int n) {
        int need = pool.spec().blocksFor(r.computed + n) - r.blocksHeld;
        while (need > pool.freeBlocks()) {
            RequestState victim = running.getLast();
            preempt(victim);
            if (victim == r) {
                return false;
            }
        }
        grow(r, n);
        return true;
    }

    private void grow(RequestState r, int n) {
        int target = pool.spec().blocksFor(r.computed + n);
        while (r.blocksHeld < target) {
            r.blockTable[r.blocksHeld++] = pool.take();
        }
    }

    private void preempt(RequestState r) {
        running.remove(r);
        release(r);
        r.computed = 0;
        preempted.addFirst(r);
        preemptions++;
    }

    private void release(RequestState r) {
        pool.release(r.blockTable, r.blocksHeld);
        r.blocksHeld = 0;
    }

    private static Segment segment(RequestState r, int n) {
        return new Segment(r, r.computed, n, n == r.pending());
    }

    private static Step build(List<Segment> segments) {
        int rows = segments.stream().mapToInt(Segment::count).sum();
        int heads = (int) segments.stream().filter(Segment::needsLogits).count();
        int[] tokens = new int[rows], positions = new int[rows], logitRows = new int[heads];
        int[][] tables = new int[rows][];
        int row = 0, head = 0;
        for (Segment s : segments) {
            for (int i = 0; i < s.count(); i++, row++) {
                tokens[row] = s.request().token(s.pos0() + i);
                positions[row] = s.pos0() + i;
                tables[row] = s.request().blockTable;
            }
            if (s.needsLogits()) {
                logitRows[head++] = row - 1;
            }
        }
        return new Step(segments, tokens, new BatchRows(positions, tables), logitRows);
    }

    /**
     * After the step ran: advances each sequence, hands the logits to those that reached their last
     * token (logits row i for the i-th such sequence), and retires the finished, freeing their blocks.
     */
    void complete(Step step, float[] logits, int vocab) {
        int head = 0;
        for (Segment s : step.segments()) {
            RequestState r = s.request();
            r.computed += s.count();
            if (s.needsLogits()) {
                try {
                    if (r.accept(logits, head++ * vocab)) {
                        retire(r);
                        r.publish();
                    }
                } catch (RuntimeException e) {
                    // A callback that throws ends its own request, not the engine.
                    retire(r);
                    r.future.completeExceptionally(e);
                }
            }
        }
    }

    /** Takes r out of the running set or the queue and frees its blocks. */
    void retire(RequestState r) {
        running.remove(r);
        preempted.remove(r);
        release(r);
    }

    /** Cancelled requests leave, their blocks freed, before their futures say so. */
    void sweepCancelled(Queue<RequestState> incoming) {
        for (Iterator<RequestState> it = incoming.iterator(); it.hasNext(); ) {
            RequestState r = it.next();
            if (r.cancelled) {
                it.remove();
                r.future.cancel(false);
            }
        }
        for (RequestState r : List.copyOf(running)) {
            if (r.cancelled) {
                retire(r);
                r.future.cancel(false);
            }
        }
        for (RequestState r : List.copyOf(preempted)) {
            if (r.cancelled) {
                retire(r);
                r.future.cancel(false);
            }
        }
    }

    /** Fails every request the scheduler holds (a step failed, or the engine closes). */
    void failAll(Throwable cause) {
        for (RequestState r : List.copyOf(running)) {
            retire(r);
            r.future.completeExceptionally(cause);
        }
        for (RequestState r : List.copyOf(preempted)) {
            retire(r);
            r.future.completeExceptionally(cause);
        }
    }
}
