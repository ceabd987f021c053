package dev.tandem.runtime.exec;

import dev.tandem.runtime.compiler.Assignment;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.GroupLayout;
import dev.tandem.runtime.compiler.OpKind;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.device.BatchRows;
import dev.tandem.runtime.device.DeviceEvent;
import dev.tandem.runtime.device.DeviceFfn;
import dev.tandem.runtime.device.DevicePagedAttention;
import dev.tandem.runtime.device.DeviceWeights;
import dev.tandem.runtime.device.KvPoolSpec;
import dev.tandem.runtime.exec.PlanForward.Executed;
import dev.tandem.runtime.exec.PlanForward.StageOpener;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.LlamaWeights;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
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
 * ({@link BatchStage}): while one half's FFN runs on the FFN group, the other's attention runs on
 * the attention group, the ping-pong the compiler plans. Every row's arithmetic is its own (the
 * blocks are batch-invariant), so the ids and logits do not depend on whether or how the rows split.
 *
 * <p>Not thread-safe: one caller drives it; the second micro-batch's thread is its own.
 */
public final class BatchPlanForward implements AutoCloseable {
    /** Where a phase's blocks, embedding and head run. */
    private static final class Route {
        final BatchStage[] attentionStage, ffnStage;
        final DevicePagedAttention[] attention;
        final DeviceFfn[] ffn;
        BatchStage embedStage, headStage;
        DeviceWeights embedding, output;

        Route(int layers) {
            attentionStage = new BatchStage[layers];
            ffnStage = new BatchStage[layers];
            attention = new DevicePagedAttention[layers];
            ffn = new DeviceFfn[layers];
        }
    }

    private final LlamaConfig c;
    private final int sequences, maxPositions, chunk, maxRows;
    private final KvPoolSpec pool;
    private final int[][] tables;
    private final Map<String, BatchStage> stages = new LinkedHashMap<>();
    private final Route prefill, decode;
    private final boolean decodeSharesAttention, decodeSharesFfn, kvMoves, splits;
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
        this.kvMoves = !Assignment.same(roles.prefill(), roles.attention());
        this.decodeSharesAttention = !kvMoves;
        this.decodeSharesFfn = Assignment.same(roles.ffn(), roles.prefill());
        this.splits = !Assignment.same(roles.attention(), roles.ffn());
        this.microBatches = microBatches;
        this.hostX = new float[2][maxRows * config.dim()];
        this.prefill = new Route(config.nLayers());
        this.decode = new Route(config.nLayers());
        ExecutorService pool2 = null;
        try {
            route(prefill, roles.prefill(), roles.prefill(), plan, opener);
            route(decode, roles.attention(), roles.ffn(), plan, opener);
            requireCapacity(weights, ropeInvFreq);
            place(weights, ropeInvFreq);
            if (splits && microBatches) {
                pool2 = Executors.newSingleThreadExecutor(r -> {
                    Thread t = new Thread(r, "tandem-micro-batch-1");
                    t.setDaemon(true);
                    return t;
                });
            }
        } catch (RuntimeException e) {
            this.secondHalf = null;
            closeStages(e);
            throw e;
        }
        this.secondHalf = pool2;
    }

    private void route(Route r, DeviceGroup attentionGroup, DeviceGroup ffnGroup, Plan plan, StageOpener opener) {
        GroupLayout attn = plan.layoutOf(attentionGroup), ffn = plan.layoutOf(ffnGroup);
        for (int l = 0; l < c.nLayers(); l++) {
            r.attentionStage[l] = stage(attentionGroup, attn, attn.stageOf(l), opener);
            r.ffnStage[l] = stage(ffnGroup, ffn, ffn.stageOf(l), opener);
        }
        r.embedStage = stage(attentionGroup, attn, attn.stageOf(-1), opener);
        r.headStage = stage(attentionGroup, attn, attn.stageOf(c.nLayers()), opener);
        r.headStage.runsHead = true;
    }

    private BatchStage stage(DeviceGroup g, GroupLayout layout, int index, StageOpener opener) {
        String label = layout.stageLabel(index);
        BatchStage s = stages.get(label);
        if (s == null) {
            s = new BatchStage(label, g, opener.open(g, layout.tensorParallel()), true);
            stages.put(label, s);
            s.claim = dev.tandem.runtime.device.DeviceClaim.take(s.device);
        }
        return s;
    }

    private void requireCapacity(LlamaWeights w, float[] ropeInvFreq) {
        Map<BatchStage, Long> bytes = new LinkedHashMap<>();
        for (BatchStage s : stages.values()) {
            long scratch = 2L * maxRows * c.dim() + (s.runsHead ? c.dim() + (long) maxRows * (c.dim() + c.vocabSize()) : 0);
            bytes.put(s, scratch * Float.BYTES);
        }
        // A table counts once per stage (a tied output is the embedding's upload).
        Map<BatchStage, java.util.Set<Object>> tables = new java.util.IdentityHashMap<>();
        for (Route r : List.of(prefill, decode)) {
            for (var placed : List.of(Map.entry(r.embedStage, w.tokenEmbedding()), Map.entry(r.headStage, w.output()))) {
                if (tables.computeIfAbsent(placed.getKey(), k -> Collections.newSetFromMap(new java.util.IdentityHashMap<>()))
                        .add(placed.getValue())) {
                    bytes.merge(placed.getKey(), placed.getValue().byteSize(), Long::sum);
                }
            }
        }
        for (int l = 0; l < c.nLayers(); l++) {
            var attention = LayerBlocks.attention(c, w, ropeInvFreq, l);
            bytes.merge(prefill.attentionStage[l], prefill.attentionStage[l].device.pagedAttentionBytes(attention, pool, maxRows), Long::sum);
            bytes.merge(prefill.ffnStage[l], LayerBlocks.ffnBytes(prefill.ffnStage[l].device, c, w, l, maxRows), Long::sum);
            if (!decodeSharesAttention) {
                bytes.merge(decode.attentionStage[l], decode.attentionStage[l].device.pagedAttentionBytes(attention, pool, maxRows), Long::sum);
            }
            if (!decodeSharesFfn) {
                bytes.merge(decode.ffnStage[l], LayerBlocks.ffnBytes(decode.ffnStage[l].device, c, w, l, maxRows), Long::sum);
            }
        }
        String what = "(weights, a KV pool of " + sequences + " x " + maxPositions + " positions and " + maxRows + "-row scratch)";
        bytes.forEach((s, b) -> s.device.requireCapacity(
                stages.size() == 1 ? "the model " + what : s.label + "'s share of the model " + what, b));
    }

    /** PlanForward's order (x buffers, tables, head buffers, prefill's blocks, decode's own blocks), so an LPU stage fills alike. */
    private void place(LlamaWeights w, float[] ropeInvFreq) {
        for (Route r : List.of(prefill, decode)) {
            for (int l = 0; l < c.nLayers(); l++) {
                placeX(r.attentionStage[l]);
                placeX(r.ffnStage[l]);
            }
            placeX(r.embedStage);
            placeX(r.headStage);
            r.embedding = r.embedStage.upload(w.tokenEmbedding());
            r.output = r.headStage.upload(w.output());
            BatchStage h = r.headStage;
            if (h.finalNorm == null) {
                h.finalNorm = h.buffer(c.dim());
                h.device.write(h.finalNorm, 0, w.finalNorm(), 0, c.dim());
                h.heads = h.buffer((long) maxRows * c.dim());
                h.logits = h.buffer((long) maxRows * c.vocabSize());
            }
            if (r == prefill) {
                for (int l = 0; l < c.nLayers(); l++) {
                    BatchStage a = r.attentionStage[l], f = r.ffnStage[l];
                    r.attention[l] = a.own(a.device.uploadPagedAttention(LayerBlocks.attention(c, w, ropeInvFreq, l), pool, maxRows));
                    r.ffn[l] = f.own(LayerBlocks.uploadFfn(f.device, c, w, l, maxRows));
                }
            }
        }
        for (int l = 0; l < c.nLayers(); l++) {
            BatchStage a = decode.attentionStage[l], f = decode.ffnStage[l];
            decode.attention[l] = decodeSharesAttention ? prefill.attention[l]
                    : a.own(a.device.uploadPagedAttention(LayerBlocks.attention(c, w, ropeInvFreq, l), pool, maxRows));
            decode.ffn[l] = decodeSharesFfn ? prefill.ffn[l] : f.own(LayerBlocks.uploadFfn(f.device, c, w, l, maxRows));
        }
        // The second micro-batch's residual stream, last, so the placement above is PlanForward's.
        for (BatchStage s : stages.values()) {
            s.x[1] = s.buffer((long) maxRows * c.dim());
        }
    }

    private void placeX(BatchStage s) {
        if (s.x[0] == null) {
            s.x[0] = s.buffer((long) maxRows * c.dim());
        }
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
    public Map<String, String> devices() {
        Map<String, String> m = new LinkedHashMap<>();
        stages.forEach((label, s) -> m.put(label, s.device.spec().name()));
        return m;
    }

    /** What each device says about its run (an emulator's utilisation), by stage. */
    public Map<String, String> reports() {
        Map<String, String> m = new LinkedHashMap<>();
        stages.forEach((label, s) -> s.device.report().ifPresent(r -> m.put(label, r)));
        return m;
    }

    /**
     * Prefills sequence seq with tokens at positions [0, tokens.length), overwriting what it held,
     * and returns the logits after its last token (vocab).
     */
    public float[] prefill(int seq, int[] tokens) {
        checkSequence(seq);
        if (tokens.length == 0 || tokens.length > maxPositions) {
            throw new IllegalArgumentException("a prompt has 1 to " + maxPositions + " tokens, got " + tokens.length);
        }
        checkTokens(tokens);
        float[] out = null;
        for (int done = 0; done < tokens.length; done += chunk) {
            int n = Math.min(chunk, tokens.length - done);
            boolean last = done + n == tokens.length;
            out = run(prefill, 0, Arrays.copyOfRange(tokens, done, done + n), BatchRows.sequence(tables[seq], done, n),
                    Phase.PREFILL, last ? 1 : 0, seq);
        }
        if (kvMoves) {
            moveKv(seq, tokens.length);
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
        checkTokens(tokens);
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

    private void checkTokens(int[] tokens) {
        for (int t : tokens) {
            if (t < 0 || t >= c.vocabSize()) {
                throw new IllegalArgumentException("token id " + t + " is outside the vocabulary [0, " + c.vocabSize() + ")");
            }
        }
    }

    /** The rows through a route on micro-batch slot's buffers; the logits of the last headRows rows. */
    private float[] run(Route r, int slot, int[] tokens, BatchRows rows, Phase phase, int headRows, int seq) {
        int batch = tokens.length, dim = c.dim();
        int pos0 = phase == Phase.DECODE ? Arrays.stream(rows.positions()).max().orElseThrow() : rows.positions()[0];
        BatchStage at = r.embedStage;
        at.lock.lock();
        try {
            DeviceEvent start = at.device.record();
            at.device.embed(r.embedding, tokens, at.x[slot]);
            logOp(start, phase, "embed", OpKind.EMBED, -1, at, pos0, batch, seq);
        } finally {
            at.lock.unlock();
        }
        for (int l = 0; l < c.nLayers(); l++) {
            BatchStage s = r.attentionStage[l];
            at = move(phase, at, s, slot, batch);
            DevicePagedAttention attention = r.attention[l];
            s.lock.lock();
            try {
                DeviceEvent start = s.device.record();
                attention.run(s.x[slot], rows);
                logOp(start, phase, "attention " + l, OpKind.ATTENTION, l, s, pos0, batch, seq);
            } finally {
                s.lock.unlock();
            }
            BatchStage f = r.ffnStage[l];
            at = move(phase, at, f, slot, batch);
            f.lock.lock();
            try {
                DeviceEvent start = f.device.record();
                r.ffn[l].run(f.x[slot], batch);
                logOp(start, phase, "ffn " + l, OpKind.FFN, l, f, pos0, batch, seq);
            } finally {
                f.lock.unlock();
            }
        }
        float[] out = new float[headRows * c.vocabSize()];
        if (headRows == 0) {
            return out;
        }
        BatchStage h = r.headStage;
        move(phase, at, h, slot, batch);
        h.lock.lock();
        try {
            DeviceEvent start = h.device.record();
            h.device.copy(h.x[slot], (long) (batch - headRows) * dim, h.heads, 0, (long) headRows * dim);
            h.device.rmsnorm(h.heads, h.heads, h.finalNorm, dim, headRows, c.rmsEps());
            h.device.matmul(r.output, h.heads, h.logits, headRows);
            h.device.read(h.logits, 0, out, 0, out.length);
            logOp(start, phase, "head", OpKind.HEAD, c.nLayers(), h, pos0, headRows, seq);
        } finally {
            h.lock.unlock();
        }
        return out;
    }

    private void logOp(DeviceEvent start, Phase phase, String what, OpKind kind, int layer, BatchStage s, int pos0, int batch, int seq) {
        DeviceEvent end = s.device.record();
        log.add(new Executed(phase, what, kind, layer, s.label, pos0, batch, end.nanosSince(start), end.cyclesSince(start), 0,
                s.group, s.group, seq));
    }

    /** The slot's rows from one stage's device to another's, through the slot's own host buffer. */
    private BatchStage move(Phase phase, BatchStage from, BatchStage to, int slot, int batch) {
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
        log.add(new Executed(phase, "activations", null, -1, "link " + from.label + "->" + to.label, 0, batch,
                nanos, OptionalLong.empty(), 4L * n, from.group, to.group, -1));
        return to;
    }

    /** After seq's prefill on its own group, each layer's KV rows of the prompt move to the decode attention's pool. */
    private void moveKv(int seq, int count) {
        int kvDim = c.kvDim();
        float[] k = new float[count * kvDim], v = new float[count * kvDim];
        long t0 = System.nanoTime();
        long bytes = 0;
        for (int l = 0; l < c.nLayers(); l++) {
            prefill.attention[l].readKv(tables[seq], 0, count, k, v);
            decode.attention[l].writeKv(tables[seq], 0, count, k, v);
            decode.attentionStage[l].device.synchronize();
            bytes += 8L * count * kvDim;
        }
        log.add(new Executed(Phase.PREFILL, "kv cache", null, -1,
                "link " + prefill.attentionStage[0].label + "->" + decode.attentionStage[0].label, 0, count,
                System.nanoTime() - t0, OptionalLong.empty(), bytes, prefill.attentionStage[0].group,
                decode.attentionStage[0].group, seq));
    }

    @Override
    public void close() {
        if (secondHalf != null) {
            secondHalf.shutdownNow();
        }
        RuntimeException first = closeStages(null);
        if (first != null) {
            throw first;
        }
    }

    private RuntimeException closeStages(RuntimeException cause) {
        RuntimeException first = null;
        List<BatchStage> all = new ArrayList<>(stages.values());
        for (int i = all.size() - 1; i >= 0; i--) {
            RuntimeException e = all.get(i).close();
            if (e != null && cause != null) {
                cause.addSuppressed(e);
            } else if (e != null && first == null) {
                first = e;
            }
        }
        stages.clear();
        return first;
    }
}
