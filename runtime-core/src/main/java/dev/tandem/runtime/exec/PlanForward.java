package dev.tandem.runtime.exec;

import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.compiler.Assignment;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.GroupLayout;
import dev.tandem.runtime.compiler.OpKind;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceAttention;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceEvent;
import dev.tandem.runtime.device.DeviceFfn;
import dev.tandem.runtime.device.DeviceWeights;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.LlamaWeights;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * A compiled {@link Plan}'s forward pass on the devices it names: one device per pipeline stage of
 * each group. Prefill runs every layer on the prefill group's stages; decode runs each layer's
 * attention (with its KV cache, the embedding and the head) on the attention group's stages and its
 * FFN on the FFN group's, so under afd the hidden state crosses between the two every layer. When
 * prefill and decode attention are different groups, the prompt's KV cache moves once after prefill.
 * Hidden states and KV caches move through the host; each op and move is timed on its device's own
 * clock (cycles on an emulator) and logged, so a report can set them against the plan's predictions.
 *
 * <p>The per-layer math is the blocks' ({@link DeviceAttention#run}, {@link DeviceFfn#run}) in the
 * reference's order, so the plan computes what {@link ReferenceForward} computes, wherever it runs.
 */
public final class PlanForward implements Forward {
    /** Opens the device of one stage of a group: tensorParallel devices of it working as one. */
    @FunctionalInterface
    public interface StageOpener {
        Device open(DeviceGroup group, int tensorParallel);
    }

    /** One op or move as it ran: device time (and cycles where the device counts them). */
    public record Executed(Phase phase, String what, OpKind kind, int layer, String track, int pos0, int batch,
                           long nanos, OptionalLong cycles, long bytes) {
        public boolean isTransfer() { return kind == null; }
    }

    /** The device of one stage and what lives on it for this forward pass. */
    private static final class Stage {
        final String label;
        final Device device;
        final List<AutoCloseable> owned = new ArrayList<>();
        final Map<WeightMatrix, DeviceWeights> uploaded = new IdentityHashMap<>();
        DeviceBuffer x;                  // (chunk, dim): the residual stream of the rows in flight
        DeviceBuffer finalNorm, last, logits; // (dim), (1, dim), (vocab): only where a head runs
        float[] finalNormHost;

        Stage(String label, Device device) {
            this.label = label;
            this.device = device;
        }

        DeviceWeights upload(WeightMatrix m) {
            return uploaded.computeIfAbsent(m, k -> {
                DeviceWeights w = device.upload(k);
                owned.add(w);
                return w;
            });
        }

        DeviceBuffer buffer(long floats) {
            DeviceBuffer b = device.allocate(floats);
            owned.add(b);
            return b;
        }
    }

    /** Where a phase's blocks, embedding and head run. */
    private static final class Route {
        Stage[] attentionStage, ffnStage;
        DeviceAttention[] attention;
        DeviceFfn[] ffn;
        Stage embedStage, headStage;
        DeviceWeights embedding, output;
    }

    private final LlamaConfig c;
    private final int maxPositions, chunk;
    private final Map<String, Stage> stages = new LinkedHashMap<>();
    private final Route prefill = new Route(), decode = new Route();
    private final boolean kvMoves;
    private final List<Executed> log = new ArrayList<>();
    private final float[] logits;
    private float[] hostX;
    private boolean inPrefill;

    /**
     * Opens every stage's device and places the plan's blocks on them; on any failure, frees what
     * was placed and closes what was opened.
     */
    public PlanForward(Plan plan, LlamaConfig config, LlamaWeights weights, float[] ropeInvFreq, int maxPositions,
                       int prefillChunk, StageOpener opener) {
        if (maxPositions < 1 || maxPositions > config.contextLength()) {
            throw new IllegalArgumentException("maxPositions must be in [1, " + config.contextLength() + "], got " + maxPositions);
        }
        this.c = config;
        this.maxPositions = maxPositions;
        this.chunk = prefillChunk;
        this.logits = new float[config.vocabSize()];
        this.hostX = new float[prefillChunk * config.dim()];
        Assignment roles = plan.roles();
        this.kvMoves = !Assignment.same(roles.prefill(), roles.attention());
        int layers = config.nLayers();
        try {
            route(prefill, plan, roles.prefill(), roles.prefill(), weights, ropeInvFreq, opener, prefillChunk);
            route(decode, plan, roles.attention(), roles.ffn(), weights, ropeInvFreq, opener, 1);
            for (int l = 0; l < layers; l++) {
                int layer = l;
                // A group that plays two roles holds one copy of a block: prefill's KV cache is decode's.
                decode.attention[l] = Assignment.same(roles.attention(), roles.prefill()) ? prefill.attention[l]
                        : place(decode.attentionStage[l], s -> s.device.uploadAttention(
                                LayerBlocks.attention(c, weights, ropeInvFreq, layer), maxPositions, 1));
                decode.ffn[l] = Assignment.same(roles.ffn(), roles.prefill()) ? prefill.ffn[l]
                        : place(decode.ffnStage[l], s -> s.device.uploadFfn(LayerBlocks.ffn(c, weights, layer), 1));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private interface Placer<T> { T place(Stage s); }

    private <T extends AutoCloseable> T place(Stage s, Placer<T> placer) {
        T block = placer.place(s);
        s.owned.add(block);
        return block;
    }

    /** The stages of a phase's route; prefill places its own blocks here, decode after (to share them). */
    private void route(Route r, Plan plan, DeviceGroup attentionGroup, DeviceGroup ffnGroup, LlamaWeights w,
                       float[] ropeInvFreq, StageOpener opener, int maxBatch) {
        int layers = c.nLayers();
        r.attentionStage = new Stage[layers];
        r.ffnStage = new Stage[layers];
        r.attention = new DeviceAttention[layers];
        r.ffn = new DeviceFfn[layers];
        GroupLayout attn = plan.layoutOf(attentionGroup), ffn = plan.layoutOf(ffnGroup);
        for (int l = 0; l < layers; l++) {
            r.attentionStage[l] = stage(attentionGroup, attn, attn.stageOf(l), opener);
            r.ffnStage[l] = stage(ffnGroup, ffn, ffn.stageOf(l), opener);
        }
        r.embedStage = stage(attentionGroup, attn, attn.stageOf(-1), opener);
        r.headStage = stage(attentionGroup, attn, attn.stageOf(layers), opener);
        r.embedding = r.embedStage.upload(w.tokenEmbedding());
        r.output = r.headStage.upload(w.output());
        if (r.headStage.finalNorm == null) {
            r.headStage.finalNorm = r.headStage.buffer(c.dim());
            r.headStage.device.write(r.headStage.finalNorm, 0, w.finalNorm(), 0, c.dim());
            r.headStage.last = r.headStage.buffer(c.dim());
            r.headStage.logits = r.headStage.buffer(c.vocabSize());
        }
        if (r == prefill) {
            for (int l = 0; l < layers; l++) {
                int layer = l;
                r.attention[l] = place(r.attentionStage[l], s -> s.device.uploadAttention(
                        LayerBlocks.attention(c, w, ropeInvFreq, layer), maxPositions, maxBatch));
                r.ffn[l] = place(r.ffnStage[l], s -> s.device.uploadFfn(LayerBlocks.ffn(c, w, layer), maxBatch));
            }
        }
    }

    private Stage stage(DeviceGroup g, GroupLayout layout, int index, StageOpener opener) {
        String label = layout.stageLabel(index);
        Stage s = stages.get(label);
        if (s == null) {
            s = new Stage(label, opener.open(g, layout.tensorParallel()));
            stages.put(label, s);
            s.x = s.buffer((long) chunk * c.dim());
        }
        return s;
    }

    /** Every op and move since the last {@link #clearLog()}, in the order they ran. */
    public List<Executed> log() { return List.copyOf(log); }

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

    @Override
    public int maxPositions() { return maxPositions; }

    @Override
    public float[] forward(int token, int pos) {
        return run(decode, new int[] {token}, pos, Phase.DECODE, true);
    }

    @Override
    public float[] prefill(int[] tokens, int startPos) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("prefill needs at least one token");
        }
        float[] out = null;
        for (int done = 0; done < tokens.length; done += chunk) {
            int batch = Math.min(chunk, tokens.length - done);
            // Only the prompt's last row needs logits.
            out = run(prefill, Arrays.copyOfRange(tokens, done, done + batch), startPos + done, Phase.PREFILL,
                    done + batch == tokens.length);
        }
        if (kvMoves) {
            moveKv(startPos, tokens.length);
        }
        return out;
    }

    private float[] run(Route r, int[] tokens, int pos0, Phase phase, boolean head) {
        if (pos0 < 0 || pos0 + tokens.length > maxPositions) {
            throw new IllegalArgumentException("positions [" + pos0 + ", " + (pos0 + tokens.length)
                    + ") exceed the KV cache of " + maxPositions + " positions");
        }
        for (int t : tokens) {
            if (t < 0 || t >= c.vocabSize()) {
                throw new IllegalArgumentException("token id " + t + " is outside the vocabulary [0, " + c.vocabSize() + ")");
            }
        }
        int batch = tokens.length, dim = c.dim();
        Stage at = r.embedStage;
        timed(phase, "embed", OpKind.EMBED, -1, at, pos0, batch, () -> r.embedStage.device.embed(r.embedding, tokens, r.embedStage.x));
        for (int l = 0; l < c.nLayers(); l++) {
            int layer = l;
            Stage s = r.attentionStage[l];
            at = move(phase, at, s, batch);
            timed(phase, "attention " + l, OpKind.ATTENTION, l, s, pos0, batch,
                    () -> r.attention[layer].run(s.x, pos0, batch));
            Stage f = r.ffnStage[l];
            at = move(phase, at, f, batch);
            timed(phase, "ffn " + l, OpKind.FFN, l, f, pos0, batch, () -> r.ffn[layer].run(f.x, batch));
        }
        if (!head) {
            return null;
        }
        Stage h = r.headStage;
        move(phase, at, h, batch);
        timed(phase, "head", OpKind.HEAD, c.nLayers(), h, pos0, 1, () -> {
            h.device.copy(h.x, (long) (batch - 1) * dim, h.last, 0, dim);
            h.device.rmsnorm(h.last, h.last, h.finalNorm, dim, 1, c.rmsEps());
            h.device.matmul(r.output, h.last, h.logits, 1);
            h.device.read(h.logits, 0, logits, 0, logits.length);
        });
        return logits;
    }

    private void timed(Phase phase, String what, OpKind kind, int layer, Stage s, int pos0, int batch, Runnable op) {
        DeviceEvent start = s.device.record();
        op.run();
        DeviceEvent end = s.device.record();
        log.add(new Executed(phase, what, kind, layer, s.label, pos0, batch, end.nanosSince(start), end.cyclesSince(start), 0));
    }

    /** The hidden state of the rows in flight from one stage's device to another's, through the host. */
    private Stage move(Phase phase, Stage from, Stage to, int batch) {
        if (from == to) {
            return to;
        }
        int n = batch * c.dim();
        long t0 = System.nanoTime();
        from.device.read(from.x, 0, hostX, 0, n);
        to.device.write(to.x, 0, hostX, 0, n);
        to.device.synchronize();
        log.add(new Executed(phase, "activations", null, -1, "link " + from.label + "->" + to.label, 0, batch,
                System.nanoTime() - t0, OptionalLong.empty(), 4L * n));
        return to;
    }

    /** After prefill on one group, each layer's KV rows of the prompt move to the decode attention's block. */
    private void moveKv(int from, int count) {
        int kvDim = c.kvDim();
        float[] k = new float[count * kvDim], v = new float[count * kvDim];
        long t0 = System.nanoTime();
        long bytes = 0;
        String track = null;
        for (int l = 0; l < c.nLayers(); l++) {
            prefill.attention[l].readKv(from, count, k, v);
            decode.attention[l].writeKv(from, count, k, v);
            decode.attentionStage[l].device.synchronize();
            bytes += 8L * count * kvDim;
            track = track != null ? track : "link " + prefill.attentionStage[l].label + "->" + decode.attentionStage[l].label;
        }
        log.add(new Executed(Phase.PREFILL, "kv cache", null, -1, track, from, count, System.nanoTime() - t0,
                OptionalLong.empty(), bytes));
    }

    /** Frees every block and buffer, then closes every stage's device. */
    @Override
    public void close() {
        RuntimeException first = null;
        List<Stage> all = new ArrayList<>(stages.values());
        for (int i = all.size() - 1; i >= 0; i--) {
            Stage s = all.get(i);
            for (int j = s.owned.size() - 1; j >= 0; j--) {
                try {
                    s.owned.get(j).close();
                } catch (Exception e) {
                    first = first != null ? first : e instanceof RuntimeException r ? r : new IllegalStateException(e);
                }
            }
            s.owned.clear();
            try {
                s.device.close();
            } catch (RuntimeException e) {
                first = first != null ? first : e;
            }
        }
        stages.clear();
        if (first != null) {
            throw first;
        }
    }
}
