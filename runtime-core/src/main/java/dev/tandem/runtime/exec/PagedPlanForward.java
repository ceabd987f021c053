package dev.tandem.runtime.exec;

import dev.tandem.runtime.compiler.Assignment;
import dev.tandem.runtime.compiler.BatchShape;
import dev.tandem.runtime.compiler.OpKind;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.device.BatchRows;
import dev.tandem.runtime.device.DeviceEvent;
import dev.tandem.runtime.device.DevicePagedAttention;
import dev.tandem.runtime.device.KvPoolSpec;
import dev.tandem.runtime.exec.PlanForward.Executed;
import dev.tandem.runtime.exec.PlanForward.StageOpener;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.LlamaWeights;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A plan's placement over a paged KV pool, for rows of many sequences whose block tables the caller
 * owns: {@link PlacedPlan}'s routes (prefill on the prefill group; decode attention, embedding and
 * head on the attention group, FFN on the FFN group), each layer's attention a
 * {@link DevicePagedAttention} over one pool of the caller's shape. {@link BatchPlanForward} (fixed
 * tables, one batch) and the serving engine's plan step (tables from its block allocator,
 * continuous batching) both drive it, so a plan is placed and stepped by one piece of code.
 *
 * <p>Micro-batches: when decode attention and FFN are on different groups and a decode call has two
 * rows or more, the rows split into two halves (the first ceil(rows/2), the rest: the compiler's
 * split) that run on two threads, one stage lock each device ({@link Stage}): while one half's FFN
 * runs on the FFN group, the other's attention runs on the attention group. Every row's arithmetic
 * is its own (the blocks are batch-invariant), so the results do not depend on whether or how the
 * rows split.
 *
 * <p>Not thread-safe: one caller drives it; the second micro-batch's thread is its own.
 */
public final class PagedPlanForward implements AutoCloseable {
    private final LlamaConfig c;
    private final KvPoolSpec pool;
    private final int prefillRows, decodeRows, headRows;
    private final PlacedPlan<DevicePagedAttention> placed;
    private final boolean splits, microBatches;
    private final List<Executed> log = Collections.synchronizedList(new ArrayList<>());
    private final float[][] hostX;
    private final ExecutorService secondHalf;

    /**
     * Opens every stage's device with opener (closed again by {@link #close()}), checks each stage's
     * footprint for the pool and rows, and places the plan's blocks.
     *
     * @param prefillRows  rows of one prefill call (the widest)
     * @param decodeRows   rows of one decode call, at most prefillRows
     * @param headRows     logits rows of one call, at most prefillRows
     * @param microBatches whether a decode call whose attention and FFN groups differ runs as two
     *                     ping-ponging halves (the plan's schedule) or as one batch
     * @param what         what the capacity message says a stage holds besides weights
     */
    public PagedPlanForward(Plan plan, LlamaConfig config, LlamaWeights weights, float[] ropeInvFreq, KvPoolSpec pool,
                            int prefillRows, int decodeRows, int headRows, boolean microBatches, StageOpener opener, String what) {
        if (decodeRows < 1 || headRows < 1 || prefillRows < Math.max(decodeRows, headRows)) {
            throw new IllegalArgumentException("rows: need 1 <= decode rows, head rows <= prefill rows, got prefill " + prefillRows
                    + ", decode " + decodeRows + ", head " + headRows);
        }
        this.c = config;
        this.pool = pool;
        this.prefillRows = prefillRows;
        this.decodeRows = decodeRows;
        this.headRows = headRows;
        Assignment roles = plan.roles();
        this.splits = !Assignment.same(roles.attention(), roles.ffn());
        this.microBatches = microBatches;
        this.hostX = new float[2][prefillRows * config.dim()];
        this.placed = new PlacedPlan<>(roles, plan::layoutOf, config, weights, ropeInvFreq, opener, true,
                new PlacedPlan.Rows(prefillRows, decodeRows, 2, headRows), new PlacedPlan.AttentionBlocks<>(
                (device, w, rows) -> device.uploadPagedAttention(w, pool, rows),
                (device, w, rows) -> device.pagedAttentionBytes(w, pool, rows)), what);
        this.secondHalf = splits && microBatches ? Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "tandem-micro-batch-1");
            t.setDaemon(true);
            return t;
        }) : null;
    }

    public KvPoolSpec pool() { return pool; }

    /** Whether decode calls of two rows or more run as two ping-ponging micro-batches. */
    public boolean pingPongs() { return splits && microBatches; }

    /** Whether prefill and decode attention are different groups, so a prompt's KV rows move after its prefill. */
    public boolean movesKv() { return placed.kvMoves; }

    /** Every op and move since the last {@link #clearLog()}, in the order they ran (two micro-batches' interleaved). */
    public List<Executed> log() {
        synchronized (log) {
            return List.copyOf(log);
        }
    }

    /** The log so far, emptied: what a long-running caller reads step by step. */
    public List<Executed> drainLog() {
        synchronized (log) {
            List<Executed> out = List.copyOf(log);
            log.clear();
            return out;
        }
    }

    public void clearLog() { log.clear(); }

    /** The stage labels and the devices behind them, in the order they were opened. */
    public Map<String, String> devices() { return placed.devices(); }

    /** What each device says about its run (an emulator's utilisation), by stage. */
    public Map<String, String> reports() { return placed.reports(); }

    /**
     * Rows through the prefill route (every layer on the prefill group): a prompt's chunk, or chunks
     * of several sequences. Returns the logits of rows logitRows (ascending), (logitRows.length, vocab).
     *
     * @param sequence the one sequence the rows belong to (for the log), or -1 for several
     */
    public float[] prefill(int[] tokens, BatchRows rows, int[] logitRows, int sequence) {
        check(tokens, rows, prefillRows, logitRows);
        return run(placed.prefill, 0, tokens, rows, Phase.PREFILL, logitRows, sequence);
    }

    /**
     * Rows through the decode route, in two ping-ponging halves where the plan splits attention from
     * the FFN; returns the logits of rows logitRows (ascending), (logitRows.length, vocab). The halves
     * split between runs (a run is one sequence's consecutive rows, which attend each other), at the
     * first run boundary from ceil(rows/2): for a token per sequence, the compiler's split.
     */
    public float[] decode(int[] tokens, BatchRows rows, int[] logitRows) {
        int n = tokens.length;
        check(tokens, rows, decodeRows, logitRows);
        int first = n < 2 ? n : rows.runEnd(runStart(rows, (n + 1) / 2 - 1));
        if (!pingPongs() || first >= n) {
            return run(placed.decode, 0, tokens, rows, Phase.DECODE, logitRows, -1);
        }
        BatchRows a = new BatchRows(Arrays.copyOf(rows.positions(), first), Arrays.copyOf(rows.blockTables(), first));
        BatchRows b = new BatchRows(Arrays.copyOfRange(rows.positions(), first, n), Arrays.copyOfRange(rows.blockTables(), first, n));
        int[] tokensB = Arrays.copyOfRange(tokens, first, n);
        int[] headsA = Arrays.stream(logitRows).filter(r -> r < first).toArray();
        int[] headsB = Arrays.stream(logitRows).filter(r -> r >= first).map(r -> r - first).toArray();
        Future<float[]> second = secondHalf.submit(() -> run(placed.decode, 1, tokensB, b, Phase.DECODE, headsB, -1));
        float[] logitsA;
        try {
            logitsA = run(placed.decode, 0, Arrays.copyOf(tokens, first), a, Phase.DECODE, headsA, -1);
        } catch (RuntimeException e) {
            // The second half still holds the devices: let it finish before anyone closes them.
            try {
                second.get();
            } catch (ExecutionException | InterruptedException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        float[] logitsB;
        try {
            logitsB = second.get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the second micro-batch ran", e);
        }
        float[] out = Arrays.copyOf(logitsA, logitRows.length * c.vocabSize());
        System.arraycopy(logitsB, 0, out, logitsA.length, logitsB.length);
        return out;
    }

    /** Every row's logits: a decode step of one token per sequence. */
    public float[] decode(int[] tokens, BatchRows rows) {
        return decode(tokens, rows, allRows(tokens.length));
    }

    /** The first row of the run that holds row. */
    private static int runStart(BatchRows rows, int row) {
        for (int start = 0, end; ; start = end) {
            end = rows.runEnd(start);
            if (row < end) {
                return start;
            }
        }
    }

    /**
     * Moves positions [0, count) of the sequence whose block table is table from each layer's prefill
     * attention block to its decode block (where the plan puts them on different groups), logged as
     * one KV move for sequence.
     */
    public void moveKv(int[] table, int count, int sequence) {
        if (!placed.kvMoves) {
            throw new IllegalStateException("prefill and decode attention share their blocks: there is no KV cache to move");
        }
        log.add(placed.moveKv(0, count, sequence, (from, to, k, v) -> {
            from.readKv(table, 0, count, k, v);
            to.writeKv(table, 0, count, k, v);
        }));
    }

    private void check(int[] tokens, BatchRows rows, int maxRows, int[] logitRows) {
        if (tokens.length != rows.size()) {
            throw new IllegalArgumentException(tokens.length + " tokens for " + rows.size() + " rows");
        }
        rows.validate(pool, maxRows);
        PlacedPlan.checkTokens(c, tokens);
        if (logitRows != null) {
            if (logitRows.length > headRows) {
                throw new IllegalArgumentException(logitRows.length + " logits rows exceed the head's " + headRows);
            }
            for (int i = 0; i < logitRows.length; i++) {
                if (logitRows[i] < 0 || logitRows[i] >= tokens.length || i > 0 && logitRows[i] <= logitRows[i - 1]) {
                    throw new IllegalArgumentException("logits row " + logitRows[i] + " is not an ascending row of the " + tokens.length);
                }
            }
        }
    }

    private static int[] allRows(int n) {
        int[] rows = new int[n];
        Arrays.setAll(rows, i -> i);
        return rows;
    }

    /** The rows through a route on micro-batch slot's buffers; the logits of logitRows. */
    private float[] run(PlacedPlan.Route<DevicePagedAttention> r, int slot, int[] tokens, BatchRows rows, Phase phase, int[] logitRows,
                        int seq) {
        int batch = tokens.length, dim = c.dim();
        int pos0 = phase == Phase.DECODE ? Arrays.stream(rows.positions()).max().orElseThrow() : rows.positions()[0];
        BatchShape shape = shapeOf(rows);
        Stage at = r.embedStage;
        at.lock.lock();
        try {
            DeviceEvent start = at.device.record();
            at.device.embed(r.embedding, tokens, at.x[slot]);
            logOp(start, phase, "embed", OpKind.EMBED, -1, at, pos0, batch, seq, shape);
        } finally {
            at.lock.unlock();
        }
        for (int l = 0; l < c.nLayers(); l++) {
            Stage s = r.attentionStage[l];
            at = move(phase, at, s, slot, batch);
            DevicePagedAttention attention = r.attention.get(l);
            s.lock.lock();
            try {
                DeviceEvent start = s.device.record();
                attention.run(s.x[slot], rows);
                logOp(start, phase, "attention " + l, OpKind.ATTENTION, l, s, pos0, batch, seq, shape);
            } finally {
                s.lock.unlock();
            }
            Stage f = r.ffnStage[l];
            at = move(phase, at, f, slot, batch);
            f.lock.lock();
            try {
                DeviceEvent start = f.device.record();
                r.ffn[l].run(f.x[slot], batch);
                logOp(start, phase, "ffn " + l, OpKind.FFN, l, f, pos0, batch, seq, shape);
            } finally {
                f.lock.unlock();
            }
        }
        int heads = logitRows.length;
        float[] out = new float[heads * c.vocabSize()];
        if (heads == 0) {
            return out;
        }
        Stage h = r.headStage;
        move(phase, at, h, slot, batch);
        h.lock.lock();
        try {
            DeviceEvent start = h.device.record();
            // Consecutive rows in one copy: the last row of a prompt, or every row of a decode step, is one.
            for (int i = 0, end; i < heads; i = end) {
                end = i + 1;
                while (end < heads && logitRows[end] == logitRows[end - 1] + 1) {
                    end++;
                }
                h.device.copy(h.x[slot], (long) logitRows[i] * dim, h.heads, (long) i * dim, (long) (end - i) * dim);
            }
            h.device.rmsnorm(h.heads, h.heads, h.finalNorm, dim, heads, c.rmsEps());
            h.device.matmul(r.output, h.heads, h.logits, heads);
            h.device.read(h.logits, 0, out, 0, out.length);
            logOp(start, phase, "head", OpKind.HEAD, c.nLayers(), h, pos0, heads, seq, shape);
        } finally {
            h.lock.unlock();
        }
        return out;
    }

    private void logOp(DeviceEvent start, Phase phase, String what, OpKind kind, int layer, Stage s, int pos0, int batch, int seq,
                       BatchShape shape) {
        log.add(PlacedPlan.op(start, phase, what, kind, layer, s, pos0, batch, seq, shape));
    }

    /** A step's rows as the compiler describes them: runs of one sequence's consecutive positions, in the pool's blocks. */
    private BatchShape shapeOf(BatchRows rows) {
        List<BatchShape.Run> runs = new ArrayList<>();
        int[] pos = rows.positions();
        for (int start = 0, end; start < pos.length; start = end) {
            end = rows.runEnd(start);
            runs.add(new BatchShape.Run(pos[start], end - start));
        }
        return new BatchShape(pool.blockSize(), runs);
    }

    /** The slot's rows from one stage's device to another's, through the slot's own host buffer. */
    private Stage move(Phase phase, Stage from, Stage to, int slot, int batch) {
        if (from == to) {
            return to;
        }
        int n = batch * c.dim();
        float[] host = hostX[slot];
        // Timed inside the locks: waiting for the other micro-batch's op is not the copy's time.
        long nanos;
        from.lock.lock();
        try {
            long t0 = System.nanoTime();
            from.device.read(from.x[slot], 0, host, 0, n);
            nanos = System.nanoTime() - t0;
        } finally {
            from.lock.unlock();
        }
        to.lock.lock();
        try {
            long t0 = System.nanoTime();
            to.device.write(to.x[slot], 0, host, 0, n);
            to.device.synchronize();
            nanos += System.nanoTime() - t0;
        } finally {
            to.lock.unlock();
        }
        log.add(placed.activations(phase, from, to, batch, nanos));
        return to;
    }

    @Override
    public void close() {
        if (secondHalf != null) {
            secondHalf.shutdownNow();
        }
        RuntimeException first = placed.close();
        if (first != null) {
            throw first;
        }
    }
}
