package dev.tandem.runtime.exec;

import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.compiler.Assignment;
import dev.tandem.runtime.compiler.BatchShape;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.GroupLayout;
import dev.tandem.runtime.compiler.OpKind;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.device.AttentionWeights;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceClaim;
import dev.tandem.runtime.device.DeviceEvent;
import dev.tandem.runtime.device.DeviceFfn;
import dev.tandem.runtime.device.DeviceWeights;
import dev.tandem.runtime.exec.PlanForward.Executed;
import dev.tandem.runtime.exec.PlanForward.StageOpener;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.LlamaWeights;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Function;

/**
 * The stages a plan's forward opens and what it places on them, shared by {@link PlanForward} (one
 * sequence, a KV cache of its own per attention block) and {@link BatchPlanForward} (many, a paged
 * pool): prefill runs every layer on the prefill group's stages; decode runs attention, the
 * embedding and the head on the attention group's and the FFN on the FFN group's. A group that plays
 * two roles holds one copy of a block (prefill's KV cache is decode's).
 *
 * <p>{@link #place} is the one place that fixes the upload order, which an emulated LPU's cost
 * provider relies on to know which chip holds which rows (its StageLayout fills chips alike).
 *
 * @param <A> the attention block the forward runs (a {@code DeviceAttention} or a {@code DevicePagedAttention})
 */
final class PlacedPlan<A extends AutoCloseable> {
    /** Places an attention block for rows rows on a device, or says how many bytes it would take. */
    @FunctionalInterface
    interface BlockAction<T> {
        T apply(Device device, AttentionWeights w, int rows);
    }

    /** How a forward's attention blocks go onto a device: the KV cache each holds is the forward's to say. */
    record AttentionBlocks<A>(BlockAction<A> upload, BlockAction<Long> bytes) {}

    /**
     * The rows a forward's blocks and buffers are sized for.
     *
     * @param prefillRows rows of one prefill run (the chunk, or the widest step)
     * @param decodeRows  rows of one decode step
     * @param xSlots      residual-stream buffers per stage (2 where two micro-batches ping-pong)
     * @param headRows    rows the head turns into logits at once
     */
    record Rows(int prefillRows, int decodeRows, int xSlots, int headRows) {}

    /** Where a phase's blocks, embedding and head run. */
    static final class Route<A> {
        final Stage[] attentionStage, ffnStage;
        final List<A> attention;
        final DeviceFfn[] ffn;
        Stage embedStage, headStage;
        DeviceWeights embedding, output;

        Route(int layers) {
            attentionStage = new Stage[layers];
            ffnStage = new Stage[layers];
            attention = new ArrayList<>(Collections.nCopies(layers, null));
            ffn = new DeviceFfn[layers];
        }
    }

    private final LlamaConfig c;
    private final Rows rows;
    private final Map<String, Stage> stages = new LinkedHashMap<>();
    final Route<A> prefill, decode;
    /** Whether prefill and decode attention are different groups, so a prompt's KV cache moves after prefill. */
    final boolean kvMoves;
    final boolean decodeSharesFfn;

    /**
     * Opens and claims every stage's device, checks each stage's whole footprint against its device,
     * then places every block, table and buffer; on any failure closes what it opened and rethrows.
     *
     * @param what what the capacity message says a stage holds, e.g. "(weights, KV cache of 64 positions and scratch)"
     */
    PlacedPlan(Assignment roles, Function<DeviceGroup, GroupLayout> layouts, LlamaConfig config, LlamaWeights weights,
               float[] ropeInvFreq, StageOpener opener, boolean ownsDevices, Rows rows, AttentionBlocks<A> blocks, String what) {
        this.c = config;
        this.rows = rows;
        this.kvMoves = !Assignment.same(roles.prefill(), roles.attention());
        this.decodeSharesFfn = Assignment.same(roles.ffn(), roles.prefill());
        this.prefill = new Route<>(config.nLayers());
        this.decode = new Route<>(config.nLayers());
        try {
            route(prefill, roles.prefill(), roles.prefill(), layouts, opener, ownsDevices);
            route(decode, roles.attention(), roles.ffn(), layouts, opener, ownsDevices);
            requireCapacity(weights, ropeInvFreq, blocks, what);
            place(weights, ropeInvFreq, blocks);
        } catch (RuntimeException e) {
            RuntimeException failed = close();
            if (failed != null) {
                e.addSuppressed(failed);
            }
            throw e;
        }
    }

    /** The stages of a phase's route, opened and claimed; nothing is placed yet. */
    private void route(Route<A> r, DeviceGroup attentionGroup, DeviceGroup ffnGroup, Function<DeviceGroup, GroupLayout> layouts,
                       StageOpener opener, boolean ownsDevices) {
        int layers = c.nLayers();
        GroupLayout attn = layouts.apply(attentionGroup), ffn = layouts.apply(ffnGroup);
        for (int l = 0; l < layers; l++) {
            r.attentionStage[l] = stage(attentionGroup, attn, attn.stageOf(l), opener, ownsDevices);
            r.ffnStage[l] = stage(ffnGroup, ffn, ffn.stageOf(l), opener, ownsDevices);
        }
        r.embedStage = stage(attentionGroup, attn, attn.stageOf(-1), opener, ownsDevices);
        r.headStage = stage(attentionGroup, attn, attn.stageOf(layers), opener, ownsDevices);
        r.headStage.runsHead = true;
    }

    private Stage stage(DeviceGroup g, GroupLayout layout, int index, StageOpener opener, boolean ownsDevices) {
        String label = layout.stageLabel(index);
        Stage s = stages.get(label);
        if (s == null) {
            s = new Stage(label, g, opener.open(g, layout.tensorParallel()), ownsDevices);
            stages.put(label, s);
            s.claim = DeviceClaim.take(s.device);
        }
        return s;
    }

    private boolean decodeSharesAttention() { return !kvMoves; }

    /** Each stage's whole share (weights, blocks with their KV caches, scratch) against its device, before any upload. */
    private void requireCapacity(LlamaWeights w, float[] ropeInvFreq, AttentionBlocks<A> blocks, String what) {
        Map<Stage, Long> bytes = new LinkedHashMap<>();
        for (Stage s : stages.values()) {
            long scratch = (long) rows.xSlots() * rows.prefillRows() * c.dim()
                    + (s.runsHead ? c.dim() + (long) rows.headRows() * (c.dim() + c.vocabSize()) : 0);
            bytes.put(s, scratch * Float.BYTES);
        }
        Map<Stage, Set<WeightMatrix>> tables = new IdentityHashMap<>();
        for (Route<A> r : List.of(prefill, decode)) {
            addTable(bytes, tables, r.embedStage, w.tokenEmbedding());
            addTable(bytes, tables, r.headStage, w.output());
        }
        for (int l = 0; l < c.nLayers(); l++) {
            AttentionWeights attention = LayerBlocks.attention(c, w, ropeInvFreq, l);
            Stage pa = prefill.attentionStage[l], pf = prefill.ffnStage[l], da = decode.attentionStage[l], df = decode.ffnStage[l];
            bytes.merge(pa, blocks.bytes().apply(pa.device, attention, rows.prefillRows()), Long::sum);
            bytes.merge(pf, LayerBlocks.ffnBytes(pf.device, c, w, l, rows.prefillRows()), Long::sum);
            if (!decodeSharesAttention()) {
                bytes.merge(da, blocks.bytes().apply(da.device, attention, rows.decodeRows()), Long::sum);
            }
            if (!decodeSharesFfn) {
                bytes.merge(df, LayerBlocks.ffnBytes(df.device, c, w, l, rows.decodeRows()), Long::sum);
            }
        }
        bytes.forEach((s, b) -> s.device.requireCapacity(
                stages.size() == 1 ? "the model " + what : s.label + "'s share of the model " + what, b));
    }

    private static void addTable(Map<Stage, Long> bytes, Map<Stage, Set<WeightMatrix>> tables, Stage s, WeightMatrix m) {
        // A tied output is the embedding's upload.
        if (tables.computeIfAbsent(s, k -> Collections.newSetFromMap(new IdentityHashMap<>())).add(m)) {
            bytes.merge(s, m.byteSize(), Long::sum);
        }
    }

    /**
     * Places everything in one fixed order: per route (prefill, then decode), each stage's first x
     * buffer as the route first reaches it (layer by layer, attention before FFN, then the embedding's
     * and the head's stage), the embedding table, the output table, the head's buffers (norm, rows,
     * logits), and for prefill its blocks layer by layer; then decode's own blocks; last, the further
     * x buffers of a second micro-batch, so what comes before is the same for every forward.
     */
    private void place(LlamaWeights w, float[] ropeInvFreq, AttentionBlocks<A> blocks) {
        long xFloats = (long) rows.prefillRows() * c.dim();
        for (Route<A> r : List.of(prefill, decode)) {
            for (int l = 0; l < c.nLayers(); l++) {
                placeX(r.attentionStage[l], xFloats);
                placeX(r.ffnStage[l], xFloats);
            }
            placeX(r.embedStage, xFloats);
            placeX(r.headStage, xFloats);
            r.embedding = r.embedStage.upload(w.tokenEmbedding());
            r.output = r.headStage.upload(w.output());
            Stage h = r.headStage;
            if (h.finalNorm == null) {
                h.finalNorm = h.buffer(c.dim());
                h.device.write(h.finalNorm, 0, w.finalNorm(), 0, c.dim());
                h.heads = h.buffer((long) rows.headRows() * c.dim());
                h.logits = h.buffer((long) rows.headRows() * c.vocabSize());
            }
            if (r == prefill) {
                for (int l = 0; l < c.nLayers(); l++) {
                    Stage a = r.attentionStage[l], f = r.ffnStage[l];
                    r.attention.set(l, a.own(blocks.upload().apply(a.device, LayerBlocks.attention(c, w, ropeInvFreq, l), rows.prefillRows())));
                    r.ffn[l] = f.own(LayerBlocks.uploadFfn(f.device, c, w, l, rows.prefillRows()));
                }
            }
        }
        for (int l = 0; l < c.nLayers(); l++) {
            Stage a = decode.attentionStage[l], f = decode.ffnStage[l];
            decode.attention.set(l, decodeSharesAttention() ? prefill.attention.get(l)
                    : a.own(blocks.upload().apply(a.device, LayerBlocks.attention(c, w, ropeInvFreq, l), rows.decodeRows())));
            decode.ffn[l] = decodeSharesFfn ? prefill.ffn[l] : f.own(LayerBlocks.uploadFfn(f.device, c, w, l, rows.decodeRows()));
        }
        for (int slot = 1; slot < rows.xSlots(); slot++) {
            for (Stage s : stages.values()) {
                s.x[slot] = s.buffer(xFloats);
            }
        }
    }

    private static void placeX(Stage s, long floats) {
        if (s.x[0] == null) {
            s.x[0] = s.buffer(floats);
        }
    }

    /** Copies one layer's KV rows from prefill's attention block to decode's into keys and values (count, kvDim). */
    @FunctionalInterface
    interface KvCopy<A> {
        void copy(A from, A to, float[] keys, float[] values);
    }

    /**
     * Moves count positions of a prompt's KV rows from each layer's prefill attention block to its
     * decode block, through the host, layer by layer; returns the move as a log entry.
     */
    Executed moveKv(int pos0, int count, int sequence, KvCopy<A> copy) {
        int kvDim = c.kvDim();
        float[] k = new float[count * kvDim], v = new float[count * kvDim];
        long t0 = System.nanoTime();
        for (int l = 0; l < c.nLayers(); l++) {
            copy.copy(prefill.attention.get(l), decode.attention.get(l), k, v);
            decode.attentionStage[l].device.synchronize();
        }
        Stage from = prefill.attentionStage[0], to = decode.attentionStage[0];
        return new Executed(Phase.PREFILL, "kv cache", null, -1, "link " + from.label + "->" + to.label, pos0, count,
                System.nanoTime() - t0, OptionalLong.empty(), 8L * count * kvDim * c.nLayers(), from.group, to.group, sequence, null);
    }

    /** A move of batch rows of hidden state between two stages as a log entry. */
    Executed activations(Phase phase, Stage from, Stage to, int batch, long nanos) {
        return new Executed(phase, "activations", null, -1, "link " + from.label + "->" + to.label, 0, batch,
                nanos, OptionalLong.empty(), 4L * batch * c.dim(), from.group, to.group, -1, null);
    }

    /** An op that ran on stage s between two of its device's events, as a log entry. */
    static Executed op(DeviceEvent start, Phase phase, String what, OpKind kind, int layer, Stage s, int pos0, int batch, int sequence,
                       BatchShape rows) {
        DeviceEvent end = s.device.record();
        return new Executed(phase, what, kind, layer, s.label, pos0, batch, end.nanosSince(start), end.cyclesSince(start), 0,
                s.group, s.group, sequence, rows);
    }

    /** The stage labels and the devices behind them, in the order they were opened. */
    Map<String, String> devices() {
        Map<String, String> m = new LinkedHashMap<>();
        stages.forEach((label, s) -> m.put(label, s.device.spec().name()));
        return m;
    }

    /** What each device says about its run (an emulator's utilisation), by stage. */
    Map<String, String> reports() {
        Map<String, String> m = new LinkedHashMap<>();
        stages.forEach((label, s) -> s.device.report().ifPresent(r -> m.put(label, r)));
        return m;
    }

    /** Every token id inside the vocabulary, or an IllegalArgumentException naming the first that is not. */
    static void checkTokens(LlamaConfig c, int[] tokens) {
        for (int t : tokens) {
            if (t < 0 || t >= c.vocabSize()) {
                throw new IllegalArgumentException("token id " + t + " is outside the vocabulary [0, " + c.vocabSize() + ")");
            }
        }
    }

    /**
     * Frees every block and buffer, releases every claim, then closes the devices this plan opened,
     * last stage first; returns the first failure (the rest are dropped), or null.
     */
    RuntimeException close() {
        RuntimeException first = null;
        List<Stage> all = new ArrayList<>(stages.values());
        for (int i = all.size() - 1; i >= 0; i--) {
            RuntimeException e = all.get(i).close();
            if (e != null && first == null) {
                first = e;
            }
        }
        stages.clear();
        return first;
    }
}
