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
 * A plan's forward pass for B sequences at once: {@link PlanForward}'s routes (prefill on the prefill
 * group; decode attention, embedding and head on the attention group, FFN on the FFN group), with each
 * layer's attention a {@link DevicePagedAttention} over one KV pool that holds every sequence's
 * blocks. A prompt prefills in chunks on its own; a decode step runs one row per sequence, each at
 * its own position, through every block together. Where prefill and decode attention are different
 * groups, each sequence's prompt KV moves after its prefill, block table by block table.
 *
 * <p>Micro-batches: when decode attention and FFN are on different groups and a step has two rows
 * or more, the rows split into two halves that run on two threads, one stage lock each device
 * ({@link Stage}): while one half's FFN runs on the FFN group, the other's attention runs on
 * the attention group, the ping-pong the compiler plans. Every row's arithmetic is its own (the
 * blocks are batch-invariant), so the ids and logits do not depend on whether or how the rows split.
 *
 * <p>Not thread-safe: one caller drives it; the second micro-batch's thread is its own.
 */
public final class BatchPlanForward implements AutoCloseable {
    private final LlamaConfig c;
    private final int sequences, maxPositions, chunk, maxRows;
    private final KvPoolSpec pool;
    private final int[][] tables;
    private final PlacedPlan<DevicePagedAttention> placed;
    private final PlacedPlan.Route<DevicePagedAttention> prefill, decode;
    private final boolean splits;
    private final boolean microBatches;
    private final List<Executed> log = Collections.synchronizedList(new ArrayList<>());
    private final float[][] hostX;
    private final ExecutorService secondHalf;

    /**
     * Opens every stage's device with opener (closed again by {@link #close()}), checks each stage's
     * footprint for a pool of sequences × maxPositions positions, and places the plan's blocks.
     *
     * @param microBatches whether a decode step whose attention and FFN groups differ runs as two
     *                     ping-ponging halves (the plan's schedule) or as one batch
     */
    public BatchPlanForward(Plan plan, LlamaConfig config, LlamaWeights weights, float[] ropeInvFreq, int sequences,
                            int maxPositions, int prefillChunk, boolean microBatches, StageOpener opener) {
        if (sequences < 1) {
            throw new IllegalArgumentException("a batch needs at least 1 sequence, got " + sequences);
        }
        if (maxPositions < 1 || maxPositions > config.contextLength()) {
            throw new IllegalArgumentException("maxPositions must be in [1, " + config.contextLength() + "], got " + maxPositions);
        }
        this.c = config;
        this.sequences = sequences;
        this.maxPositions = maxPositions;
        this.chunk = prefillChunk;
        this.maxRows = Math.max(prefillChunk, sequences);
        int perSequence = (maxPositions + KvPoolSpec.DEFAULT_BLOCK_SIZE - 1) / KvPoolSpec.DEFAULT_BLOCK_SIZE;
        this.pool = new KvPoolSpec(KvPoolSpec.DEFAULT_BLOCK_SIZE, perSequence * sequences);
        // Interleaved: sequence s owns blocks s, s + B, s + 2B, ..., so no sequence's cache is contiguous.
        this.tables = new int[sequences][perSequence];
        for (int s = 0; s < sequences; s++) {
            for (int b = 0; b < perSequence; b++) {
                tables[s][b] = b * sequences + s;
            }
        }
        Assignment roles = plan.roles();
        this.splits = !Assignment.same(roles.attention(), roles.ffn());
        this.microBatches = microBatches;
        this.hostX = new float[2][maxRows * config.dim()];
        KvPoolSpec kvPool = pool;
        this.placed = new PlacedPlan<>(roles, plan::layoutOf, config, weights, ropeInvFreq, opener, true,
                new PlacedPlan.Rows(maxRows, maxRows, 2, maxRows), new PlacedPlan.AttentionBlocks<>(
                (device, w, rows) -> device.uploadPagedAttention(w, kvPool, rows),
                (device, w, rows) -> device.pagedAttentionBytes(w, kvPool, rows)), "(weights, a KV pool of " + sequences + " x " + maxPositions + " positions and " + maxRows + "-row scratch)");
        this.prefill = placed.prefill;
        this.decode = placed.decode;
        this.secondHalf = splits && microBatches ? Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "tandem-micro-batch-1");
            t.setDaemon(true);
            return t;
        }) : null;
    }

    public int sequences() { return sequences; }

    public int maxPositions() { return maxPositions; }

    /** Whether decode steps of two rows or more run as two ping-ponging micro-batches. */
    public boolean pingPongs() { return splits && microBatches; }

    /** Every op and move since the last {@link #clearLog()}, in the order they ran (two micro-batches' interleaved). */
    public List<Executed> log() {
        synchronized (log) {
            return List.copyOf(log);
        }
    }

    public void clearLog() { log.clear(); }

    /** The stage labels and the devices behind them, in the order they were opened. */
    public Map<String, String> devices() { return placed.devices(); }

    /** What each device says about its run (an emulator's utilisation), by stage. */
    public Map<String, String> reports() { return placed.reports(); }

    /**
     * Prefills sequence seq with tokens at positions [0, tokens.length), overwriting what it held,
     * and returns the logits after its last token (vocab).
     */
    public float[] prefill(int seq, int[] tokens) {
        checkSequence(seq);
        if (tokens.length == 0 || tokens.length > maxPositions) {
            throw new IllegalArgumentException("a prompt has 1 to " + maxPositions + " tokens, got " + tokens.length);
        }
        PlacedPlan.checkTokens(c, tokens);
        float[] out = null;
        for (int done = 0; done < tokens.length; done += chunk) {
            int n = Math.min(chunk, tokens.length - done);
            boolean last = done + n == tokens.length;
            out = run(prefill, 0, Arrays.copyOfRange(tokens, done, done + n), BatchRows.sequence(tables[seq], done, n),
                    Phase.PREFILL, last ? 1 : 0, seq);
        }
        if (placed.kvMoves) {
            int count = tokens.length;
            log.add(placed.moveKv(0, count, seq, (from, to, k, v) -> {
                from.readKv(tables[seq], 0, count, k, v);
                to.writeKv(tables[seq], 0, count, k, v);
            }));
        }
        return out;
    }

    /**
     * One decode step: row i is token tokens[i] of sequence seqs[i] at position positions[i] (each
     * sequence at most once, its earlier positions already cached). Returns (rows, vocab) logits.
     */
    public float[] decode(int[] seqs, int[] tokens, int[] positions) {
        int rows = seqs.length;
        if (rows < 1 || rows > sequences || tokens.length != rows || positions.length != rows) {
            throw new IllegalArgumentException("a decode step has 1 to " + sequences + " rows with a token and a position each, got "
                    + rows + " sequences, " + tokens.length + " tokens, " + positions.length + " positions");
        }
        PlacedPlan.checkTokens(c, tokens);
        int[][] rowTables = new int[rows][];
        for (int i = 0; i < rows; i++) {
            checkSequence(seqs[i]);
            if (positions[i] < 0 || positions[i] >= maxPositions) {
                throw new IllegalArgumentException("row " + i + ": position " + positions[i] + " is outside [0, " + maxPositions + ")");
            }
            rowTables[i] = tables[seqs[i]];
        }
        if (!(splits && microBatches) || rows < 2) {
            return run(decode, 0, tokens, new BatchRows(positions, rowTables), Phase.DECODE, rows, -1);
        }
        int first = (rows + 1) / 2;
        BatchRows a = new BatchRows(Arrays.copyOf(positions, first), Arrays.copyOf(rowTables, first));
        BatchRows b = new BatchRows(Arrays.copyOfRange(positions, first, rows), Arrays.copyOfRange(rowTables, first, rows));
        int[] tokensB = Arrays.copyOfRange(tokens, first, rows);
        Future<float[]> second = secondHalf.submit(() -> run(decode, 1, tokensB, b, Phase.DECODE, rows - first, -1));
        float[] logitsA;
        try {
            logitsA = run(decode, 0, Arrays.copyOf(tokens, first), a, Phase.DECODE, first, -1);
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
        float[] out = Arrays.copyOf(logitsA, rows * c.vocabSize());
        System.arraycopy(logitsB, 0, out, logitsA.length, logitsB.length);
        return out;
    }

    private void checkSequence(int seq) {
        if (seq < 0 || seq >= sequences) {
            throw new IllegalArgumentException("sequence " + seq + " is outside [0, " + sequences + ")");
        }
    }

    /** The rows through a route on micro-batch slot's buffers; the logits of the last headRows rows. */
    private float[] run(PlacedPlan.Route<DevicePagedAttention> r, int slot, int[] tokens, BatchRows rows, Phase phase, int headRows, int seq) {
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
        float[] out = new float[headRows * c.vocabSize()];
        if (headRows == 0) {
            return out;
        }
        Stage h = r.headStage;
        move(phase, at, h, slot, batch);
        h.lock.lock();
        try {
            DeviceEvent start = h.device.record();
            h.device.copy(h.x[slot], (long) (batch - headRows) * dim, h.heads, 0, (long) headRows * dim);
            h.device.rmsnorm(h.heads, h.heads, h.finalNorm, dim, headRows, c.rmsEps());
            h.device.matmul(r.output, h.heads, h.logits, headRows);
            h.device.read(h.logits, 0, out, 0, out.length);
            logOp(start, phase, "head", OpKind.HEAD, c.nLayers(), h, pos0, headRows, seq, shape);
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
