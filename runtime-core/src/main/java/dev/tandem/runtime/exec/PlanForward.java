package dev.tandem.runtime.exec;

import dev.tandem.runtime.compiler.Assignment;
import dev.tandem.runtime.compiler.BatchShape;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.DeviceSource;
import dev.tandem.runtime.compiler.GroupLayout;
import dev.tandem.runtime.compiler.OpKind;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceAttention;
import dev.tandem.runtime.device.DeviceEvent;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.LlamaWeights;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
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
     * @param batchShape the rows of the run the op belongs to, by sequence and position, with the KV
     *                   cache's layout (what an exact prediction needs); null for a move
     */
    public record Executed(Phase phase, String what, OpKind kind, int layer, String track, int pos0, int batch,
                           long nanos, OptionalLong cycles, long bytes, DeviceGroup from, DeviceGroup to, int sequence,
                           BatchShape batchShape) {
        public boolean isTransfer() { return kind == null; }
    }

    private final LlamaConfig c;
    private final int maxPositions, chunk;
    private final PlacedPlan<DeviceAttention> placed;
    private final PlacedPlan.Route<DeviceAttention> prefill, decode;
    private final boolean logging;
    private final List<Executed> log = new ArrayList<>();
    private OpListener listener;
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
        this.placed = new PlacedPlan<>(roles, layouts, config, weights, ropeInvFreq, opener, ownsDevices,
                new PlacedPlan.Rows(prefillChunk, 1, 1, 1), new PlacedPlan.AttentionBlocks<>(
                (device, w, rows) -> device.uploadAttention(w, maxPositions, rows),
                (device, w, rows) -> device.attentionBytes(w, maxPositions, rows)), "(weights, KV cache of " + maxPositions + " positions and scratch)");
        this.prefill = placed.prefill;
        this.decode = placed.decode;
    }

    /**
     * Told just after each logged op's start marker and just after its end marker, with the stage's
     * device (not around moves): {@code tandem run} times a decode op's kernels one by one in a pass of its own.
     */
    @FunctionalInterface
    public interface OpListener {
        void around(Phase phase, int pos0, Device device, boolean starting);
    }

    /** Tells listener about every op from now on; null stops it. */
    public void listen(OpListener listener) { this.listener = listener; }

    /** Every op and move since the last {@link #clearLog()}, in the order they ran; empty for the one-device forward. */
    public List<Executed> log() { return List.copyOf(log); }

    public void clearLog() { log.clear(); }

    /** The stage labels and the devices behind them, in the order they were opened. */
    public Map<String, String> devices() { return placed.devices(); }

    /** What each device says about its run (an emulator's utilisation), by stage. */
    public Map<String, String> reports() { return placed.reports(); }

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
        if (placed.kvMoves) {
            int count = tokens.length;
            Executed moved = placed.moveKv(startPos, count, 0, (from, to, k, v) -> {
                from.readKv(startPos, count, k, v);
                to.writeKv(startPos, count, k, v);
            });
            if (logging) {
                log.add(moved);
            }
        }
        return out;
    }

    private void checkRun(int[] tokens, int pos0) {
        if (pos0 < 0 || pos0 + tokens.length > maxPositions) {
            throw new IllegalArgumentException("positions [" + pos0 + ", " + (pos0 + tokens.length)
                    + ") exceed the KV cache of " + maxPositions + " positions");
        }
        PlacedPlan.checkTokens(c, tokens);
    }

    private float[] run(PlacedPlan.Route<DeviceAttention> r, int[] tokens, int pos0, Phase phase, boolean head) {
        int batch = tokens.length, dim = c.dim();
        BatchShape rows = logging ? new BatchShape(0, List.of(new BatchShape.Run(pos0, batch))) : null;
        Stage at = r.embedStage;
        DeviceEvent start = mark(at, phase, pos0);
        at.device.embed(r.embedding, tokens, at.x[0]);
        logOp(start, phase, "embed", OpKind.EMBED, -1, at, pos0, batch, rows);
        for (int l = 0; l < c.nLayers(); l++) {
            Stage s = r.attentionStage[l];
            at = move(phase, at, s, batch);
            start = mark(s, phase, pos0);
            r.attention.get(l).run(s.x[0], pos0, batch);
            logOp(start, phase, attentionNames[l], OpKind.ATTENTION, l, s, pos0, batch, rows);
            Stage f = r.ffnStage[l];
            at = move(phase, at, f, batch);
            start = mark(f, phase, pos0);
            r.ffn[l].run(f.x[0], batch);
            logOp(start, phase, ffnNames[l], OpKind.FFN, l, f, pos0, batch, rows);
        }
        if (!head) {
            return null;
        }
        Stage h = r.headStage;
        move(phase, at, h, batch);
        start = mark(h, phase, pos0);
        h.device.copy(h.x[0], (long) (batch - 1) * dim, h.heads, 0, dim);
        h.device.rmsnorm(h.heads, h.heads, h.finalNorm, dim, 1, c.rmsEps());
        h.device.matmul(r.output, h.heads, h.logits, 1);
        h.device.read(h.logits, 0, logits, 0, logits.length);
        logOp(start, phase, "head", OpKind.HEAD, c.nLayers(), h, pos0, 1, rows);
        return logits;
    }

    /** The start of a logged op on its stage's clock; null when nothing is logged. */
    private DeviceEvent mark(Stage s, Phase phase, int pos0) {
        if (!logging) {
            return null;
        }
        DeviceEvent start = s.device.record();
        if (listener != null) {
            listener.around(phase, pos0, s.device, true);
        }
        return start;
    }

    private void logOp(DeviceEvent start, Phase phase, String what, OpKind kind, int layer, Stage s, int pos0, int batch,
                       BatchShape rows) {
        if (start != null) {
            log.add(PlacedPlan.op(start, phase, what, kind, layer, s, pos0, batch, 0, rows));
            // After the end marker: what the listener does (resolving its markers) is not the op's time.
            if (listener != null) {
                listener.around(phase, pos0, s.device, false);
            }
        }
    }

    /** The hidden state of the rows in flight from one stage's device to another's, through the host. */
    private Stage move(Phase phase, Stage from, Stage to, int batch) {
        if (from == to) {
            return to;
        }
        int n = batch * c.dim();
        long t0 = System.nanoTime();
        from.device.read(from.x[0], 0, hostX, 0, n);
        to.device.write(to.x[0], 0, hostX, 0, n);
        to.device.synchronize();
        if (logging) {
            log.add(placed.activations(phase, from, to, batch, System.nanoTime() - t0));
        }
        return to;
    }

    /** Frees every block and buffer, releases every claim, then closes the devices this forward opened. */
    @Override
    public void close() {
        RuntimeException first = placed.close();
        if (first != null) {
            throw first;
        }
    }
}
