package dev.tandem.runtime.exec;

import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.compiler.Assignment;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.DeviceSource;
import dev.tandem.runtime.compiler.GroupLayout;
import dev.tandem.runtime.compiler.OpKind;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceAttention;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceClaim;
import dev.tandem.runtime.device.DeviceEvent;
import dev.tandem.runtime.device.DeviceFfn;
import dev.tandem.runtime.device.DeviceWeights;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.LlamaWeights;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Function;

/**
 * The executed forward pass: {@link ReferenceForward}'s algorithm on the devices a plan names, one
 * device per pipeline stage of each group; one device ({@link #onDevice}) is the plan whose groups
 * are all that device. Prefill runs every layer on the prefill group's stages; decode runs each
 * layer's attention (with its KV cache, the embedding and the head) on the attention group's stages
 * and its FFN on the FFN group's, so under afd the hidden state crosses between the two every layer.
 * When prefill and decode attention are different groups, the prompt's KV cache moves once after
 * prefill. Hidden states and KV caches move through the host.
 *
 * <p>Every stage's whole footprint is checked against its device before anything is uploaded, and
 * each device is claimed ({@link DeviceClaim}) for as long as this forward is open. A plan's forward
 * times each op and move on its device's own clock (cycles on an emulator) and logs it, so a report
 * can set them against the plan's predictions; the one-device forward logs nothing.
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

    /**
     * One op or move as it ran: device time (and cycles where the device counts them).
     *
     * @param from the group the op ran on, or a move left
     * @param to   the group a move reached; the op's own group for an op
     * @param pos0 the first row's position; for a decode step of several sequences, the furthest row's
     * @param sequence the sequence a prefill op or KV move ran for; -1 for a decode step of several
     */
    public record Executed(Phase phase, String what, OpKind kind, int layer, String track, int pos0, int batch,
                           long nanos, OptionalLong cycles, long bytes, DeviceGroup from, DeviceGroup to, int sequence) {
        /** Ran for sequence 0, the only one of a single-stream forward. */
        public Executed(Phase phase, String what, OpKind kind, int layer, String track, int pos0, int batch,
                        long nanos, OptionalLong cycles, long bytes, DeviceGroup from, DeviceGroup to) {
            this(phase, what, kind, layer, track, pos0, batch, nanos, cycles, bytes, from, to, 0);
        }

        public boolean isTransfer() { return kind == null; }
    }

    /** The device of one stage and what lives on it for this forward pass. */
    private static final class Stage {
        final String label;
        final DeviceGroup group;
        final Device device;
        final boolean ownsDevice;
        final List<AutoCloseable> owned = new ArrayList<>();
        final Map<WeightMatrix, DeviceWeights> uploaded = new IdentityHashMap<>();
        DeviceClaim claim;
        DeviceBuffer x;                        // (chunk, dim): the residual stream of the rows in flight
        DeviceBuffer finalNorm, last, logits;  // (dim), (1, dim), (vocab): only where a head runs
        boolean runsHead;                      // sized for in the capacity check

        Stage(String label, DeviceGroup group, Device device, boolean ownsDevice) {
            this.label = label;
            this.group = group;
            this.device = device;
            this.ownsDevice = ownsDevice;
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

        <T extends AutoCloseable> T own(T block) {
            owned.add(block);
            return block;
        }
    }

    /** Where a phase's blocks, embedding and head run. */
    private static final class Route {
        final Stage[] attentionStage, ffnStage;
        final DeviceAttention[] attention;
        final DeviceFfn[] ffn;
        Stage embedStage, headStage;
        DeviceWeights embedding, output;

        Route(int layers) {
            attentionStage = new Stage[layers];
            ffnStage = new Stage[layers];
            attention = new DeviceAttention[layers];
            ffn = new DeviceFfn[layers];
        }
    }

    private final LlamaConfig c;
    private final int maxPositions, chunk;
    private final Map<String, Stage> stages = new LinkedHashMap<>();
    private final Route prefill, decode;
    // A group that plays two roles holds one copy of a block: prefill's KV cache is decode's.
    private final boolean decodeSharesAttention, decodeSharesFfn;
    private final boolean kvMoves;
    private final boolean logging;
    private final List<Executed> log = new ArrayList<>();
    private final String[] attentionNames, ffnNames;
    private final float[] logits;
    private final float[] hostX;
    private final int[] decodeToken = new int[1];

    /**
     * A plan's forward pass: opens every stage's device with opener (and closes them on
     * {@link #close()}), checks each stage's footprint, places the plan's blocks, and logs every op.
     * On any failure it frees what was placed and closes what was opened.
     */
    public PlanForward(Plan plan, LlamaConfig config, LlamaWeights weights, float[] ropeInvFreq, int maxPositions,
                       int prefillChunk, StageOpener opener) {
        this(plan.roles(), plan::layoutOf, config, weights, ropeInvFreq, maxPositions, prefillChunk, opener, true, true);
    }

    /**
     * The one-device plan: every block, the embedding and the head on device, which the caller keeps
     * owning (closing this forward frees what it placed and releases its claim, not the device).
     * Fails before uploading anything when the model does not fit.
     */
    public static PlanForward onDevice(Device device, LlamaConfig config, LlamaWeights weights, float[] ropeInvFreq,
                                       int maxPositions, int prefillChunk) {
        DeviceGroup group = new DeviceGroup(device.spec().name(), 1, device.spec(), DeviceSource.PRESENT, 1);
        GroupLayout whole = new GroupLayout(group, 1, 1, config.nLayers());
        return new PlanForward(new Assignment(group, group, group), g -> whole, config, weights, ropeInvFreq, maxPositions,
                prefillChunk, (g, tensorParallel) -> device, false, false);
    }

    private PlanForward(Assignment roles, Function<DeviceGroup, GroupLayout> layouts, LlamaConfig config,
                        LlamaWeights weights, float[] ropeInvFreq, int maxPositions, int prefillChunk,
                        StageOpener opener, boolean ownsDevices, boolean logging) {
        if (maxPositions < 1 || maxPositions > config.contextLength()) {
            throw new IllegalArgumentException("maxPositions must be in [1, " + config.contextLength() + "], got " + maxPositions);
        }
        this.c = config;
        this.maxPositions = maxPositions;
        this.chunk = prefillChunk;
        this.logging = logging;
        this.logits = new float[config.vocabSize()];
        this.hostX = new float[prefillChunk * config.dim()];
        int layers = config.nLayers();
        this.attentionNames = new String[layers];
        this.ffnNames = new String[layers];
        for (int l = 0; l < layers; l++) {
            attentionNames[l] = "attention " + l;
            ffnNames[l] = "ffn " + l;
        }
        this.kvMoves = !Assignment.same(roles.prefill(), roles.attention());
        this.decodeSharesAttention = Assignment.same(roles.attention(), roles.prefill());
        this.decodeSharesFfn = Assignment.same(roles.ffn(), roles.prefill());
        this.prefill = new Route(layers);
        this.decode = new Route(layers);
        try {
            route(prefill, roles.prefill(), roles.prefill(), layouts, opener, ownsDevices);
            route(decode, roles.attention(), roles.ffn(), layouts, opener, ownsDevices);
            requireCapacity(weights, ropeInvFreq);
            place(weights, ropeInvFreq);
        } catch (RuntimeException e) {
            try {
                close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** The stages of a phase's route, opened and claimed; nothing is placed yet. */
    private void route(Route r, DeviceGroup attentionGroup, DeviceGroup ffnGroup, Function<DeviceGroup, GroupLayout> layouts,
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

    /** Each stage's whole share (weights, blocks with their KV caches, scratch) against its device, before any upload. */
    private void requireCapacity(LlamaWeights w, float[] ropeInvFreq) {
        Map<Stage, Long> bytes = new LinkedHashMap<>();
        Map<Stage, Set<WeightMatrix>> matrices = new IdentityHashMap<>();
        for (Stage s : stages.values()) {
            long scratch = (long) chunk * c.dim() + (s.runsHead ? 2L * c.dim() + c.vocabSize() : 0);
            bytes.put(s, scratch * Float.BYTES);
        }
        for (Route r : List.of(prefill, decode)) {
            addWeights(bytes, matrices, r.embedStage, w.tokenEmbedding());
            addWeights(bytes, matrices, r.headStage, w.output());
        }
        for (int l = 0; l < c.nLayers(); l++) {
            bytes.merge(prefill.attentionStage[l], prefill.attentionStage[l].device.attentionBytes(
                    LayerBlocks.attention(c, w, ropeInvFreq, l), maxPositions, chunk), Long::sum);
            bytes.merge(prefill.ffnStage[l], LayerBlocks.ffnBytes(prefill.ffnStage[l].device, c, w, l, chunk), Long::sum);
            if (!decodeSharesAttention) {
                bytes.merge(decode.attentionStage[l], decode.attentionStage[l].device.attentionBytes(
                        LayerBlocks.attention(c, w, ropeInvFreq, l), maxPositions, 1), Long::sum);
            }
            if (!decodeSharesFfn) {
                bytes.merge(decode.ffnStage[l], LayerBlocks.ffnBytes(decode.ffnStage[l].device, c, w, l, 1), Long::sum);
            }
        }
        String what = "(weights, KV cache of " + maxPositions + " positions and scratch)";
        bytes.forEach((s, b) -> s.device.requireCapacity(
                stages.size() == 1 ? "the model " + what : s.label + "'s share of the model " + what, b));
    }

    private static void addWeights(Map<Stage, Long> bytes, Map<Stage, Set<WeightMatrix>> matrices, Stage s, WeightMatrix m) {
        // A tied output is the embedding's upload.
        if (matrices.computeIfAbsent(s, k -> Collections.newSetFromMap(new IdentityHashMap<>())).add(m)) {
            bytes.merge(s, m.byteSize(), Long::sum);
        }
    }

    /**
     * Places everything in one fixed order, which an emulated LPU's cost provider relies on to know
     * which chip holds which rows: per route (prefill, then decode), each stage's x buffer as the
     * route first reaches it (layer by layer, attention before FFN, then the embedding's and the
     * head's stage), the embedding table, the output table, the head's buffers, and for prefill its
     * blocks layer by layer; then decode's own blocks.
     */
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
            Stage h = r.headStage;
            if (h.finalNorm == null) {
                h.finalNorm = h.buffer(c.dim());
                h.device.write(h.finalNorm, 0, w.finalNorm(), 0, c.dim());
                h.last = h.buffer(c.dim());
                h.logits = h.buffer(c.vocabSize());
            }
            if (r == prefill) {
                for (int l = 0; l < c.nLayers(); l++) {
                    Stage a = r.attentionStage[l], f = r.ffnStage[l];
                    r.attention[l] = a.own(a.device.uploadAttention(LayerBlocks.attention(c, w, ropeInvFreq, l), maxPositions, chunk));
                    r.ffn[l] = f.own(LayerBlocks.uploadFfn(f.device, c, w, l, chunk));
                }
            }
        }
        for (int l = 0; l < c.nLayers(); l++) {
            Stage a = decode.attentionStage[l], f = decode.ffnStage[l];
            decode.attention[l] = decodeSharesAttention ? prefill.attention[l]
                    : a.own(a.device.uploadAttention(LayerBlocks.attention(c, w, ropeInvFreq, l), maxPositions, 1));
            decode.ffn[l] = decodeSharesFfn ? prefill.ffn[l] : f.own(LayerBlocks.uploadFfn(f.device, c, w, l, 1));
        }
    }

    private void placeX(Stage s) {
        if (s.x == null) {
            s.x = s.buffer((long) chunk * c.dim());
        }
    }

    /** Every op and move since the last {@link #clearLog()}, in the order they ran; empty for the one-device forward. */
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
        decodeToken[0] = token;
        checkRun(decodeToken, pos);
        return run(decode, decodeToken, pos, Phase.DECODE, true);
    }

    @Override
    public float[] prefill(int[] tokens, int startPos) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("prefill needs at least one token");
        }
        checkRun(tokens, startPos);
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

    private void checkRun(int[] tokens, int pos0) {
        if (pos0 < 0 || pos0 + tokens.length > maxPositions) {
            throw new IllegalArgumentException("positions [" + pos0 + ", " + (pos0 + tokens.length)
                    + ") exceed the KV cache of " + maxPositions + " positions");
        }
        for (int t : tokens) {
            if (t < 0 || t >= c.vocabSize()) {
                throw new IllegalArgumentException("token id " + t + " is outside the vocabulary [0, " + c.vocabSize() + ")");
            }
        }
    }

    private float[] run(Route r, int[] tokens, int pos0, Phase phase, boolean head) {
        int batch = tokens.length, dim = c.dim();
        Stage at = r.embedStage;
        DeviceEvent start = mark(at);
        at.device.embed(r.embedding, tokens, at.x);
        logOp(start, phase, "embed", OpKind.EMBED, -1, at, pos0, batch);
        for (int l = 0; l < c.nLayers(); l++) {
            Stage s = r.attentionStage[l];
            at = move(phase, at, s, batch);
            start = mark(s);
            r.attention[l].run(s.x, pos0, batch);
            logOp(start, phase, attentionNames[l], OpKind.ATTENTION, l, s, pos0, batch);
            Stage f = r.ffnStage[l];
            at = move(phase, at, f, batch);
            start = mark(f);
            r.ffn[l].run(f.x, batch);
            logOp(start, phase, ffnNames[l], OpKind.FFN, l, f, pos0, batch);
        }
        if (!head) {
            return null;
        }
        Stage h = r.headStage;
        move(phase, at, h, batch);
        start = mark(h);
        h.device.copy(h.x, (long) (batch - 1) * dim, h.last, 0, dim);
        h.device.rmsnorm(h.last, h.last, h.finalNorm, dim, 1, c.rmsEps());
        h.device.matmul(r.output, h.last, h.logits, 1);
        h.device.read(h.logits, 0, logits, 0, logits.length);
        logOp(start, phase, "head", OpKind.HEAD, c.nLayers(), h, pos0, 1);
        return logits;
    }

    /** The start of a logged op on its stage's clock; null when nothing is logged. */
    private DeviceEvent mark(Stage s) {
        return logging ? s.device.record() : null;
    }

    private void logOp(DeviceEvent start, Phase phase, String what, OpKind kind, int layer, Stage s, int pos0, int batch) {
        if (start != null) {
            DeviceEvent end = s.device.record();
            log.add(new Executed(phase, what, kind, layer, s.label, pos0, batch, end.nanosSince(start), end.cyclesSince(start), 0,
                    s.group, s.group));
        }
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
        if (logging) {
            log.add(new Executed(phase, "activations", null, -1, "link " + from.label + "->" + to.label, 0, batch,
                    System.nanoTime() - t0, OptionalLong.empty(), 4L * n, from.group, to.group));
        }
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
        if (logging) {
            log.add(new Executed(Phase.PREFILL, "kv cache", null, -1, track, from, count, System.nanoTime() - t0,
                    OptionalLong.empty(), bytes, prefill.attentionStage[0].group, decode.attentionStage[0].group));
        }
    }

    /** Frees every block and buffer, releases every claim, then closes the devices this forward opened. */
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
            if (s.claim != null) {
                s.claim.close();
            }
            try {
                if (s.ownsDevice) {
                    s.device.close();
                }
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
