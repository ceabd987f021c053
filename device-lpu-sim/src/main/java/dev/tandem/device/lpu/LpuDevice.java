package dev.tandem.device.lpu;

import dev.tandem.device.lpu.Instruction.BinaryOp;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.device.AttentionWeights;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceAttention;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceEvent;
import dev.tandem.runtime.device.DeviceFfn;
import dev.tandem.runtime.device.DevicePagedAttention;
import dev.tandem.runtime.device.KvPoolSpec;
import dev.tandem.runtime.device.DeviceSpec;
import dev.tandem.runtime.device.DeviceWeights;
import dev.tandem.runtime.device.FfnWeights;
import dev.tandem.runtime.device.MoeFfnWeights;
import dev.tandem.runtime.device.UnsupportedWeightFormatException;
import dev.tandem.runtime.model.ExpertFfn;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The LPU behind the device SPI: an adapter from SPI calls to the emulator's parts. Where things
 * live is {@link ChipMemory}'s (one placement scheme for buffers, tables and blocks); each op is a
 * program from {@link OpPrograms}, each fused block one from {@link AttentionBlockLowering},
 * {@link FfnBlockLowering} or {@link MoeFfnBlockLowering}; {@link ChipArray} validates and runs it
 * in full mode; {@link RunLedger} counts its cycles and {@link TraceRecorder} keeps the first decode
 * step's programs.
 *
 * <p>With a fixed chip count a block splits over all the chips (tp = chips), so a plan that gives
 * this device tp chips gets exactly the programs the compiler costed. x always stays on chip 0.
 */
public final class LpuDevice implements Device {
    /** A Dragonfly network's largest system. */
    public static final int MAX_CHIPS = 10_440;

    /**
     * The formats the emulated MXM multiplies: the block formats of 32 (int8 planes) and the floats.
     * The K-quants' 256-value super-blocks with sub-block scales have no lowering; they stay on the CPU.
     */
    static final Set<WeightFormat> SUPPORTED_FORMATS =
            EnumSet.of(WeightFormat.F32, WeightFormat.F16, WeightFormat.BF16, WeightFormat.Q8_0, WeightFormat.Q4_0);

    private final ChipConfig config;
    private final ChipMemory memory;
    private final ChipArray array;
    private final RunLedger ledger;
    private final TraceRecorder trace;
    private boolean closed;

    /**
     * @param chips     a fixed number of chips, or 0 for as many as the weights need
     * @param tracePath where to write the Chrome trace of the first decode step on close, or null
     */
    public LpuDevice(ChipConfig config, int chips, Path tracePath) {
        this.config = config;
        this.memory = new ChipMemory(config, chips);
        this.array = new ChipArray(config, memory.maxChips());
        this.ledger = new RunLedger(config);
        this.trace = new TraceRecorder(tracePath);
    }

    public ChipConfig config() { return config; }

    /** Chips in use (fixed, or so far). */
    public int chips() { return memory.chips(); }

    /** A growing device can hold what {@link #MAX_CHIPS} chips hold. */
    @Override
    public DeviceSpec spec() {
        return LpuOptions.spec(config, chips(), memory.capacity(),
                "LPU " + config.name() + " x" + chips() + (memory.fixed() ? "" : " (grows to fit)") + " (emulated)");
    }

    /** With a fixed chip count, a model that cannot fit says how many chips would hold it. */
    @Override
    public void requireCapacity(String what, long bytes) {
        memory.requireCapacity(what, bytes);
    }

    // ---------------------------------------------------------------- memory

    @Override
    public DeviceBuffer allocate(long floats) {
        return new LpuBuffer(memory, memory.buffer(spec().name() + " buffer", floats));
    }

    @Override
    public DeviceWeights upload(WeightMatrix m) {
        requireSupported(m);
        OpPrograms.Table t = memory.placeTable(m.format(), m.rows(), m.cols());
        long rowBytes = m.format().bytesFor(m.cols());
        for (OpPrograms.Piece p : t.pieces()) {
            array.writeBytes(p.chip(), p.sram(), m.data().asSlice(p.rowStart() * rowBytes, p.bytes()));
        }
        return new LpuWeights(memory, t);
    }

    @Override
    public void write(DeviceBuffer dst, long dstOffset, float[] src, int srcOffset, int length) {
        array.writeFloats(0, LpuBuffer.of(dst).offset() + 4 * dstOffset, src, srcOffset, length);
    }

    @Override
    public void read(DeviceBuffer src, long srcOffset, float[] dst, int dstOffset, int length) {
        array.readFloats(0, LpuBuffer.of(src).offset() + 4 * srcOffset, dst, dstOffset, length);
    }

    // ---------------------------------------------------------------- ops

    private void run(StaticProgram p) {
        ledger.add(array.run(p, ChipArray.Mode.FULL));
        trace.add(p);
    }

    private static Allocation at(DeviceBuffer b) { return LpuBuffer.of(b).allocation; }

    @Override
    public void embed(DeviceWeights table, int[] tokens, DeviceBuffer out) {
        ledger.startStep(tokens.length);
        trace.startStep(tokens.length, ledger.decodeTokens() > 0);
        List<Allocation> held = new ArrayList<>();
        try {
            run(OpPrograms.embed(config, chips(), LpuWeights.tableOf(table), tokens, at(out), memory.scratch(held)));
        } finally {
            memory.release(held);
        }
    }

    @Override
    public void matmul(DeviceWeights weights, DeviceBuffer x, DeviceBuffer out, int batch) {
        List<Allocation> held = new ArrayList<>();
        try {
            run(OpPrograms.matmul(config, chips(), LpuWeights.tableOf(weights), at(x), at(out), batch, memory.scratch(held)));
        } finally {
            memory.release(held);
        }
    }

    @Override
    public void rmsnorm(DeviceBuffer out, DeviceBuffer x, DeviceBuffer weight, int n, int batch, float eps) {
        run(OpPrograms.rmsnorm(config, chips(), at(out), at(x), at(weight), n, batch, eps));
    }

    @Override
    public void rope(DeviceBuffer vec, int nHeads, int headDim, int pos0, int batch, DeviceBuffer invFreq) {
        run(OpPrograms.rope(config, chips(), at(vec), nHeads, headDim, pos0, batch, at(invFreq)));
    }

    @Override
    public void attention(DeviceBuffer out, DeviceBuffer q, DeviceBuffer keys, DeviceBuffer values,
                          int startPos, int batch, int nHeads, int nKvHeads, int headDim) {
        run(OpPrograms.attention(config, chips(), at(out), at(q), at(keys), at(values), startPos, batch, nHeads, nKvHeads, headDim));
    }

    @Override
    public void siluMul(DeviceBuffer gate, DeviceBuffer up, long n) {
        run(OpPrograms.binary(config, chips(), BinaryOp.SILU_MUL, at(gate), at(up), Math.toIntExact(n)));
    }

    @Override
    public void add(DeviceBuffer acc, DeviceBuffer x, long n) {
        run(OpPrograms.binary(config, chips(), BinaryOp.ADD, at(acc), at(x), Math.toIntExact(n)));
    }

    @Override
    public void copy(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long length) {
        run(OpPrograms.copy(config, chips(), at(src), srcOffset, at(dst), dstOffset, Math.toIntExact(length)));
    }

    // ---------------------------------------------------------------- blocks

    @Override
    public long attentionBytes(AttentionWeights w, int maxPositions, int maxBatch) {
        requireSupported(w.wq(), w.wk(), w.wv(), w.wo());
        return LpuAttentionBlock.bytes(memory, w, maxPositions, maxBatch);
    }

    @Override
    public long ffnBytes(FfnWeights w, int maxBatch) {
        requireSupported(w.w1(), w.w3(), w.w2());
        return LpuFfnBlock.bytes(memory, w, maxBatch);
    }

    @Override
    public DeviceAttention uploadAttention(AttentionWeights w, int maxPositions, int maxBatch) {
        requireSupported(w.wq(), w.wk(), w.wv(), w.wo());
        return LpuAttentionBlock.upload(memory, array, this::run, w, maxPositions, maxBatch);
    }

    @Override
    public long pagedAttentionBytes(AttentionWeights w, KvPoolSpec pool, int maxRows) {
        requireSupported(w.wq(), w.wk(), w.wv(), w.wo());
        return LpuPagedAttentionBlock.bytes(memory, w, pool, maxRows);
    }

    /** One fused program per step over the pool's blocks, priced exactly by the compiler for each batch shape. */
    @Override
    public DevicePagedAttention uploadPagedAttention(AttentionWeights w, KvPoolSpec pool, int maxRows) {
        requireSupported(w.wq(), w.wk(), w.wv(), w.wo());
        return LpuPagedAttentionBlock.upload(memory, array, this::run, w, pool, maxRows);
    }

    @Override
    public DeviceFfn uploadFfn(FfnWeights w, int maxBatch) {
        requireSupported(w.w1(), w.w3(), w.w2());
        return LpuFfnBlock.upload(memory, array, this::run, w, maxBatch);
    }

    @Override
    public long moeFfnBytes(MoeFfnWeights w, int maxBatch) {
        requireSupported(moeMatrices(w));
        return LpuMoeFfnBlock.bytes(memory, w);
    }

    /** One program per step that routes on chip and streams only the chosen experts (see {@link MoeFfnBlockLowering}). */
    @Override
    public DeviceFfn uploadMoeFfn(MoeFfnWeights w, int maxBatch) {
        requireSupported(moeMatrices(w));
        return LpuMoeFfnBlock.upload(memory, array, this::run, w, maxBatch);
    }

    private static WeightMatrix[] moeMatrices(MoeFfnWeights w) {
        List<WeightMatrix> all = new ArrayList<>(List.of(w.layer().router()));
        for (ExpertFfn e : w.layer().experts()) {
            all.addAll(List.of(e.gate(), e.up(), e.down()));
        }
        if (w.layer().shared() != null) {
            all.addAll(List.of(w.layer().sharedGate(), w.layer().shared().gate(), w.layer().shared().up(), w.layer().shared().down()));
        }
        return all.toArray(WeightMatrix[]::new);
    }

    private static void requireSupported(WeightMatrix... matrices) {
        for (WeightMatrix m : matrices) {
            if (!SUPPORTED_FORMATS.contains(m.format())) {
                throw new UnsupportedWeightFormatException("lpu", m.format(), SUPPORTED_FORMATS);
            }
        }
    }

    // ---------------------------------------------------------------- queue and stats

    /** Ops run synchronously (the emulator's time is cycles, not wall clock). */
    @Override
    public void synchronize() {}

    /** Events measure emulated time: cycles converted at the chip clock. */
    @Override
    public DeviceEvent record() {
        return new CycleEvent(ledger.cycles(), config.clockHz());
    }

    /** Emulated cycles of all decode steps so far, or empty before the first finished one. */
    public Optional<RunStats> decodeStats() {
        ledger.finishStep();
        trace.stopStep();
        return ledger.decodeStats();
    }

    public long decodeTokens() { return ledger.decodeTokens(); }

    @Override
    public Optional<String> report() {
        trace.stopStep();
        return Optional.of(ledger.report(chips()));
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        ledger.finishStep();
        trace.stopStep();
        memory.close();
        try {
            trace.write();
        } finally {
            array.close();
        }
    }
}
