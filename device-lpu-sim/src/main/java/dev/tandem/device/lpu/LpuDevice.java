package dev.tandem.device.lpu;

import dev.tandem.device.lpu.Instruction.Attention;
import dev.tandem.device.lpu.Instruction.BinaryOp;
import dev.tandem.device.lpu.Instruction.MemRead;
import dev.tandem.device.lpu.Instruction.MemWrite;
import dev.tandem.device.lpu.Instruction.Rope;
import dev.tandem.device.lpu.Instruction.VxmBinary;
import dev.tandem.device.lpu.OpPrograms.Piece;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.device.AttentionWeights;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceAttention;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceFfn;
import dev.tandem.runtime.device.DeviceEvent;
import dev.tandem.runtime.device.DeviceKind;
import dev.tandem.runtime.device.DeviceMemoryException;
import dev.tandem.runtime.device.DeviceSpec;
import dev.tandem.runtime.device.DeviceWeights;
import dev.tandem.runtime.device.FfnWeights;
import dev.tandem.runtime.device.UnsupportedWeightFormatException;
import dev.tandem.runtime.model.LlamaConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Function;

/**
 * The LPU behind the device SPI. Each op lowers to a small static program with the same
 * instructions and scheduler as the whole-step lowering, which is validated and run in full mode;
 * its cycles accumulate. Buffers (activations, KV caches, norms) live in chip 0's SRAM; weights
 * are placed whole on one chip where they fit and split by rows across chips where they do not,
 * and a matmul over a remote piece sends the input there and the result back over C2C.
 *
 * <p>With a fixed chip count the device has exactly those chips. Without one it adds chips as the
 * weights need them (the fewest that hold the model, weights filling chip 0 up to three quarters
 * first), up to {@link #MAX_CHIPS}.
 *
 * <p>Attention and FFN blocks are fused: each uploads as one {@link BlockPlacement} and runs as one
 * program ({@link AttentionBlockLowering}, {@link FfnBlockLowering}). With a fixed chip count a
 * block splits over all the chips (tp = chips), so a plan that gives this device tp chips gets
 * exactly the programs the compiler costed. Growing, a block goes whole on one chip: chip 0 while
 * it keeps a quarter free for buffers, else the first chip with room, else a fresh one; a block
 * larger than one chip splits over the fewest fresh chips that hold it. x always stays on chip 0.
 */
public final class LpuDevice implements Device {
    /** A Dragonfly network's largest system. */
    public static final int MAX_CHIPS = 10_440;

    static final int S_A = 0, S_B = 1, S_C = 2, S_K = 3, S_V = 4, S_TMP = 5;

    private final ChipConfig config;
    private final boolean fixed;
    private final int maxChips;
    private final ChipArray array;
    private final List<SramAllocator> allocators = new ArrayList<>();
    private final Path tracePath;
    private final List<StaticProgram> tracedPrograms = new ArrayList<>();
    private boolean tracing;
    private boolean closed;

    private RunStats total, decode, prefill;
    private long programs;
    private RunStats currentStep;
    private int currentStepTokens;
    private long decodeTokens, prefillTokens;

    /**
     * @param chips     a fixed number of chips, or 0 for as many as the weights need
     * @param tracePath where to write the Chrome trace of the first decode step on close, or null
     */
    public LpuDevice(ChipConfig config, int chips, Path tracePath) {
        if (chips < 0 || chips > MAX_CHIPS) {
            throw new IllegalArgumentException("chips must be in [0, " + MAX_CHIPS + "], got " + chips);
        }
        this.config = config;
        this.fixed = chips > 0;
        this.maxChips = fixed ? chips : MAX_CHIPS;
        this.array = new ChipArray(config, maxChips);
        this.tracePath = tracePath;
        addChip();
        if (fixed) {
            while (allocators.size() < chips) {
                addChip();
            }
        }
    }

    private void addChip() {
        allocators.add(new SramAllocator(config.sramBytes()));
    }

    public ChipConfig config() { return config; }

    /** Chips in use (fixed, or so far). */
    public int chips() { return allocators.size(); }

    @Override
    public DeviceSpec spec() {
        long mem = (long) maxChips * config.sramBytes();
        Map<WeightFormat, Double> flops = new EnumMap<>(WeightFormat.class);
        for (WeightFormat f : WeightFormat.values()) {
            flops.put(f, config.peakFlops(f) * maxChips);
        }
        double linkBytes = config.linkBitsPerSecond() / 8 * config.c2cLinks();
        return new DeviceSpec("LPU " + config.name() + " x" + (fixed ? maxChips : chips()) + (fixed ? "" : " (grows to fit)") + " (emulated)",
                DeviceKind.LPU, mem, config.memBytesPerCycle() * config.clockHz() * chips(), flops,
                config.powerWatts() * chips(), 0,
                Map.of(DeviceKind.LPU, new DeviceSpec.Link(linkBytes, config.c2cHopLatencyCycles() / config.clockHz())),
                config.clockHz());
    }

    /** With a fixed chip count, a model that cannot fit says how many chips would hold it. */
    @Override
    public void requireCapacity(String what, long bytes) {
        long capacity = (long) maxChips * config.sramBytes();
        if (bytes > capacity) {
            int needed = (int) Math.min(Integer.MAX_VALUE, (bytes + config.sramBytes() - 1) / config.sramBytes());
            throw new LpuCapacityException(what, config, maxChips, needed, bytes, capacity);
        }
    }

    // ---------------------------------------------------------------- memory

    private final class Buffer implements DeviceBuffer {
        final long floats;
        final long offset;
        boolean freed;

        Buffer(long floats, long offset) {
            this.floats = floats;
            this.offset = offset;
        }

        public long length() { return floats; }

        Allocation allocation() { return new Allocation(0, "buffer@" + offset, offset, floats * 4, 0, Allocation.FOREVER); }

        public void close() {
            if (!freed && !closed) {
                freed = true;
                allocators.get(0).release(offset, floats * 4);
            }
        }
    }

    private final class Weights implements DeviceWeights {
        final OpPrograms.Table table;
        boolean freed;

        Weights(OpPrograms.Table table) {
            this.table = table;
        }

        public WeightFormat format() { return table.format(); }

        public int rows() { return table.rows(); }

        public int cols() { return table.cols(); }

        public void close() {
            if (!freed && !closed) {
                freed = true;
                for (Piece p : table.pieces()) {
                    allocators.get(p.chip()).release(p.sram(), p.bytes());
                }
            }
        }
    }

    private Buffer buf(DeviceBuffer b) { return (Buffer) b; }

    @Override
    public DeviceBuffer allocate(long floats) {
        if (floats < 0 || floats > Integer.MAX_VALUE) {
            throw new DeviceMemoryException(spec().name() + " chip 0", floats * 4, allocators.get(0).largestFree());
        }
        long off = allocators.get(0).allocate(floats * 4);
        if (off < 0) {
            throw new DeviceMemoryException(spec().name() + " chip 0 (activations and KV caches live there)",
                    floats * 4, allocators.get(0).largestFree());
        }
        return new Buffer(floats, off);
    }

    @Override
    public DeviceWeights upload(WeightMatrix m) {
        supported(m.format());
        long rowBytes = m.format().bytesFor(m.cols());
        List<Piece> pieces = OpPrograms.placeTable(config, allocators, fixed, maxChips, m.rows(), rowBytes);
        if (pieces == null) {
            long requested = m.byteSize();
            long placed = 0;
            for (SramAllocator a : allocators) {
                placed += a.capacity() - a.freeBytes();
            }
            int needed = (int) Math.min(Integer.MAX_VALUE, (placed + requested + config.sramBytes() - 1) / config.sramBytes());
            throw new LpuCapacityException("a " + m.rows() + "x" + m.cols() + " " + m.format() + " weight matrix",
                    config, chips(), Math.max(needed, chips() + 1), requested, freeBytes());
        }
        for (Piece p : pieces) {
            array.writeBytes(p.chip(), p.sram(), m.data().asSlice(p.rowStart() * rowBytes, p.bytes()));
        }
        return new Weights(new OpPrograms.Table(m.format(), m.rows(), m.cols(), pieces));
    }

    private long freeBytes() {
        long f = 0;
        for (SramAllocator a : allocators) {
            f += a.freeBytes();
        }
        return f;
    }

    private boolean canGrow() { return !fixed && allocators.size() < maxChips; }

    @Override
    public void write(DeviceBuffer dst, long dstOffset, float[] src, int srcOffset, int length) {
        array.writeFloats(0, buf(dst).offset + 4 * dstOffset, src, srcOffset, length);
    }

    @Override
    public void read(DeviceBuffer src, long srcOffset, float[] dst, int dstOffset, int length) {
        array.readFloats(0, buf(src).offset + 4 * srcOffset, dst, dstOffset, length);
    }

    // ---------------------------------------------------------------- ops

    private ListScheduler program(Buffer... buffers) {
        ListScheduler s = new ListScheduler(config, chips());
        for (Buffer b : buffers) {
            s.addAllocation(b.allocation());
        }
        return s;
    }

    private void run(ListScheduler s) {
        run(s.build());
    }

    private void run(StaticProgram p) {
        RunStats r = array.run(p, ChipArray.Mode.FULL);
        total = total == null ? r : total.plus(r);
        programs++;
        if (currentStep != null) {
            currentStep = currentStep.plus(r);
        }
        if (tracing) {
            tracedPrograms.add(p);
        }
    }

    /** Scratch on a chip for the length of one op, freed by {@link #release}. */
    private record Held(int chip, long offset, long bytes) {}

    private OpPrograms.Scratch scratch(List<Held> held) {
        return (chip, bytes) -> {
            long off = allocators.get(chip).allocate(bytes);
            if (off < 0) {
                throw new DeviceMemoryException(spec().name() + " chip " + chip + " (op scratch)", bytes, allocators.get(chip).largestFree());
            }
            held.add(new Held(chip, off, bytes));
            return off;
        };
    }

    private void release(List<Held> held) {
        for (Held h : held) {
            allocators.get(h.chip()).release(h.offset(), h.bytes());
        }
    }

    @Override
    public void embed(DeviceWeights table, int[] tokens, DeviceBuffer out) {
        finishStep();
        currentStep = new RunStats(config, 1, 0, 0, Map.of());
        currentStepTokens = tokens.length;
        tracing = tracePath != null && tokens.length == 1 && tracedPrograms.isEmpty() && decodeTokens == 0;
        List<Held> held = new ArrayList<>();
        try {
            run(OpPrograms.embed(config, chips(), ((Weights) table).table, tokens, buf(out).allocation(), scratch(held)));
        } finally {
            release(held);
        }
    }

    @Override
    public void matmul(DeviceWeights weights, DeviceBuffer x, DeviceBuffer out, int batch) {
        List<Held> held = new ArrayList<>();
        try {
            run(OpPrograms.matmul(config, chips(), ((Weights) weights).table, buf(x).allocation(), buf(out).allocation(), batch,
                    scratch(held)));
        } finally {
            release(held);
        }
    }

    @Override
    public void rmsnorm(DeviceBuffer out, DeviceBuffer x, DeviceBuffer weight, int n, int batch, float eps) {
        run(OpPrograms.rmsnorm(config, chips(), buf(out).allocation(), buf(x).allocation(), buf(weight).allocation(), n, batch, eps));
    }

    @Override
    public void rope(DeviceBuffer vec, int nHeads, int headDim, int pos0, int batch, DeviceBuffer invFreq) {
        Buffer v = buf(vec), f = buf(invFreq);
        int width = nHeads * headDim;
        ListScheduler s = program(v, f);
        s.emit(0, new MemRead(v.offset, batch * width, S_A, 0));
        s.emit(0, new MemRead(f.offset, headDim / 2, S_B, 0));
        s.emit(0, new Rope(S_A, 0, width, nHeads, headDim, pos0, batch, S_B));
        s.emit(0, new MemWrite(S_A, 0, batch * width, v.offset));
        run(s);
    }

    @Override
    public void attention(DeviceBuffer out, DeviceBuffer q, DeviceBuffer keys, DeviceBuffer values,
                          int startPos, int batch, int nHeads, int nKvHeads, int headDim) {
        Buffer o = buf(out), qb = buf(q), kb = buf(keys), vb = buf(values);
        int qDim = nHeads * headDim, kv = (startPos + batch) * nKvHeads * headDim;
        ListScheduler s = program(o, qb, kb, vb);
        s.emit(0, new MemRead(qb.offset, batch * qDim, S_A, 0));
        s.emit(0, new MemRead(kb.offset, kv, S_K, 0));
        s.emit(0, new MemRead(vb.offset, kv, S_V, 0));
        s.emit(0, new Attention(S_A, S_K, S_V, S_C, startPos, batch, nHeads, nKvHeads, headDim));
        s.emit(0, new MemWrite(S_C, 0, batch * qDim, o.offset));
        run(s);
    }

    private void binary(BinaryOp op, Buffer a, Buffer b, long n) {
        int len = Math.toIntExact(n);
        ListScheduler s = program(a, b);
        s.emit(0, new MemRead(a.offset, len, S_A, 0));
        s.emit(0, new MemRead(b.offset, len, S_B, 0));
        s.emit(0, new VxmBinary(op, S_A, 0, S_B, 0, len));
        s.emit(0, new MemWrite(S_A, 0, len, a.offset));
        run(s);
    }

    @Override
    public void siluMul(DeviceBuffer gate, DeviceBuffer up, long n) {
        binary(BinaryOp.SILU_MUL, buf(gate), buf(up), n);
    }

    @Override
    public void add(DeviceBuffer acc, DeviceBuffer x, long n) {
        binary(BinaryOp.ADD, buf(acc), buf(x), n);
    }

    @Override
    public void copy(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long length) {
        run(OpPrograms.copy(config, chips(), buf(src).allocation(), srcOffset, buf(dst).allocation(), dstOffset, Math.toIntExact(length)));
    }

    // ---------------------------------------------------------------- blocks

    private static int[] range(int from, int to) {
        int[] r = new int[to - from];
        for (int i = 0; i < r.length; i++) {
            r[i] = from + i;
        }
        return r;
    }

    private void free(BlockPlacement p) {
        for (Allocation a : p.allocations()) {
            allocators.get(a.chip()).release(a.offset(), a.bytes());
        }
    }

    /** Places a block on chips chosen as the class comment says; nothing stays placed when it fails. */
    private BlockPlacement placeBlock(Function<int[], BlockPlacement> place) {
        if (fixed) {
            return place.apply(range(0, chips()));
        }
        for (int chip = 0; chip < chips(); chip++) {
            try {
                BlockPlacement p = place.apply(new int[] {chip});
                if (chip == 0 && allocators.get(0).freeBytes() < config.sramBytes() / 4 && canGrow()) {
                    free(p);
                    continue;
                }
                return p;
            } catch (LpuCapacityException e) {
                // Try the next chip.
            }
        }
        LpuCapacityException last = null;
        for (int tp = 1; tp <= maxChips - chips(); tp++) {
            int first = chips();
            while (chips() < first + tp) {
                addChip();
            }
            try {
                return place.apply(range(first, first + tp));
            } catch (LpuCapacityException e) {
                last = e;
                // Fresh chips that were not enough: give them back and try one more.
                while (allocators.size() > first) {
                    allocators.removeLast();
                }
            }
        }
        throw last != null ? last : new LpuCapacityException("a block", config, chips(), chips() + 1, 0, freeBytes());
    }

    /** Bytes a block placement takes, from a dry run on unbounded chips laid out as a real upload would be. */
    private long dryRunBytes(Function<List<SramAllocator>, BlockPlacement> place) {
        List<SramAllocator> unbounded = new ArrayList<>();
        for (int i = 0; i < (fixed ? maxChips : 1); i++) {
            unbounded.add(new SramAllocator(Long.MAX_VALUE / 4));
        }
        return place.apply(unbounded).bytes();
    }

    private static WeightFormat[] formats(AttentionWeights w) {
        return supported(w.wq().format(), w.wk().format(), w.wv().format(), w.wo().format());
    }

    private static WeightFormat[] formats(FfnWeights w) {
        return supported(w.w1().format(), w.w3().format(), w.w2().format());
    }

    /**
     * The formats the emulated MXM multiplies: the block formats of 32 (int8 planes) and the floats.
     * The K-quants' 256-value super-blocks with sub-block scales have no lowering; they stay on the CPU.
     */
    static final Set<WeightFormat> SUPPORTED_FORMATS =
            EnumSet.of(WeightFormat.F32, WeightFormat.F16, WeightFormat.BF16, WeightFormat.Q8_0, WeightFormat.Q4_0);

    private static WeightFormat[] supported(WeightFormat... formats) {
        for (WeightFormat f : formats) {
            if (!SUPPORTED_FORMATS.contains(f)) {
                throw new UnsupportedWeightFormatException("lpu", f, SUPPORTED_FORMATS);
            }
        }
        return formats;
    }

    private int[] blockChips() { return fixed ? range(0, maxChips) : new int[] {0}; }

    @Override
    public long attentionBytes(AttentionWeights w, int maxPositions, int maxBatch) {
        return dryRunBytes(a -> AttentionBlockLowering.place(config, a, blockChips(), w.config(), formats(w), maxPositions, maxBatch));
    }

    @Override
    public long ffnBytes(FfnWeights w, int maxBatch) {
        return dryRunBytes(a -> FfnBlockLowering.place(config, a, blockChips(), w.config(), formats(w), maxBatch));
    }

    private void writeSlices(BlockPlacement p, Map<String, WeightMatrix> matrices) {
        for (BlockPlacement.Slice sl : p.weights()) {
            WeightMatrix m = matrices.get(sl.tensor());
            long rowBytes = m.format().bytesFor(m.cols());
            array.writeBytes(sl.chip(), sl.sram(), m.data().asSlice(sl.rowStart() * rowBytes, sl.bytes()));
        }
    }

    private void writeEverywhere(BlockPlacement p, String region, float[] values) {
        for (int chip : p.chips()) {
            array.writeFloats(chip, p.at(chip, region), values, 0, values.length);
        }
    }

    /** An attention block's placement; its KV cache is replicated on every chip of the block. */
    private final class AttentionBlock implements DeviceAttention {
        final BlockPlacement placement;
        final LlamaConfig c;
        final int maxPositions, maxBatch;
        boolean freed;

        AttentionBlock(BlockPlacement placement, LlamaConfig c, int maxPositions, int maxBatch) {
            this.placement = placement;
            this.c = c;
            this.maxPositions = maxPositions;
            this.maxBatch = maxBatch;
        }

        public int maxPositions() { return maxPositions; }

        @Override
        public void run(DeviceBuffer x, int pos0, int batch) {
            if (batch < 1 || batch > maxBatch || pos0 < 0 || pos0 + batch > maxPositions) {
                throw new IllegalArgumentException("rows [" + pos0 + ", " + (pos0 + batch) + ") do not fit a block of " + maxBatch
                        + " rows and " + maxPositions + " positions");
            }
            LpuDevice.this.run(AttentionBlockLowering.lower(config, c, placement, buf(x).allocation(), pos0, batch));
        }

        private void check(int from, int count) {
            if (from < 0 || count < 0 || from + count > maxPositions) {
                throw new IllegalArgumentException("positions [" + from + ", " + (from + count) + ") outside the KV cache of " + maxPositions);
            }
        }

        public void readKv(int from, int count, float[] k, float[] v) {
            check(from, count);
            int chip = placement.chips()[0], kvDim = c.kvDim();
            array.readFloats(chip, placement.at(chip, "kv.k") + 4L * from * kvDim, k, 0, count * kvDim);
            array.readFloats(chip, placement.at(chip, "kv.v") + 4L * from * kvDim, v, 0, count * kvDim);
        }

        public void writeKv(int from, int count, float[] k, float[] v) {
            check(from, count);
            int kvDim = c.kvDim();
            for (int chip : placement.chips()) {
                array.writeFloats(chip, placement.at(chip, "kv.k") + 4L * from * kvDim, k, 0, count * kvDim);
                array.writeFloats(chip, placement.at(chip, "kv.v") + 4L * from * kvDim, v, 0, count * kvDim);
            }
        }

        public void close() {
            if (!freed && !closed) {
                freed = true;
                free(placement);
            }
        }
    }

    private final class FfnBlock implements DeviceFfn {
        final BlockPlacement placement;
        final LlamaConfig c;
        final int maxBatch;
        boolean freed;

        FfnBlock(BlockPlacement placement, LlamaConfig c, int maxBatch) {
            this.placement = placement;
            this.c = c;
            this.maxBatch = maxBatch;
        }

        @Override
        public void run(DeviceBuffer x, int batch) {
            if (batch < 1 || batch > maxBatch) {
                throw new IllegalArgumentException("batch " + batch + " outside [1, " + maxBatch + "] of this block");
            }
            LpuDevice.this.run(FfnBlockLowering.lower(config, c, placement, buf(x).allocation(), batch));
        }

        public void close() {
            if (!freed && !closed) {
                freed = true;
                free(placement);
            }
        }
    }

    @Override
    public DeviceAttention uploadAttention(AttentionWeights w, int maxPositions, int maxBatch) {
        LlamaConfig c = w.config();
        BlockPlacement p = placeBlock(chips -> AttentionBlockLowering.place(config, allocators, chips, c, formats(w), maxPositions, maxBatch));
        writeSlices(p, Map.of("wq", w.wq(), "wk", w.wk(), "wv", w.wv(), "wo", w.wo()));
        writeEverywhere(p, "norm", w.norm());
        writeEverywhere(p, "ropefreq", w.ropeInvFreq());
        return new AttentionBlock(p, c, maxPositions, maxBatch);
    }

    @Override
    public DeviceFfn uploadFfn(FfnWeights w, int maxBatch) {
        LlamaConfig c = w.config();
        BlockPlacement p = placeBlock(chips -> FfnBlockLowering.place(config, allocators, chips, c, formats(w), maxBatch));
        writeSlices(p, Map.of("w1", w.w1(), "w3", w.w3(), "w2", w.w2()));
        writeEverywhere(p, "norm", w.norm());
        return new FfnBlock(p, c, maxBatch);
    }

    // ---------------------------------------------------------------- queue and stats

    /** Ops run synchronously (the emulator's time is cycles, not wall clock). */
    @Override
    public void synchronize() {}

    /** Events measure emulated time: cycles converted at the chip clock. */
    @Override
    public DeviceEvent record() {
        long cycles = total == null ? 0 : total.cycles();
        return new CycleEvent(cycles, config.clockHz());
    }

    private record CycleEvent(long cycles, double clockHz) implements DeviceEvent {
        public long nanosSince(DeviceEvent earlier) {
            return Math.round((cycles - ((CycleEvent) earlier).cycles) * 1e9 / clockHz);
        }

        /** The programs' own cycles: exact, unlike nanoseconds, which round. */
        @Override
        public OptionalLong cyclesSince(DeviceEvent earlier) {
            return OptionalLong.of(cycles - ((CycleEvent) earlier).cycles);
        }
    }

    private void finishStep() {
        if (currentStep == null) {
            return;
        }
        if (currentStepTokens == 1) {
            decode = decode == null ? currentStep : decode.plus(currentStep);
            decodeTokens++;
        } else {
            prefill = prefill == null ? currentStep : prefill.plus(currentStep);
            prefillTokens += currentStepTokens;
        }
        currentStep = null;
        tracing = false;
    }

    /** Emulated cycles of all decode steps so far, or empty before the first finished one. */
    public Optional<RunStats> decodeStats() {
        return Optional.ofNullable(decode);
    }

    public long decodeTokens() { return decodeTokens; }

    @Override
    public Optional<String> report() {
        finishStep();
        if (decode == null || decodeTokens == 0) {
            if (total == null) {
                return Optional.of("lpu: " + config.name() + " x" + chips() + ": nothing ran");
            }
            // A plan's stage runs blocks, not whole steps (no embedding marks a step): report them all.
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                    "lpu: preset=%s chips=%d programs=%d cycles=%d (%.3f ms at %.0f MHz) busiest=%s utilisation",
                    config.name(), chips(), programs, total.cycles(), total.seconds() * 1e3, config.clockHz() / 1e6, total.busiestUnit()));
            for (Unit u : Unit.values()) {
                sb.append(String.format(Locale.ROOT, " %s=%.1f%%", u, 100 * total.utilisation(u)));
            }
            return Optional.of(sb.toString());
        }
        long perToken = decode.cycles() / decodeTokens;
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "lpu: preset=%s chips=%d cycles/token=%d tokens/s/user=%.1f (at %.0f MHz, op by op) busiest=%s utilisation",
                config.name(), chips(), perToken, config.clockHz() / perToken, config.clockHz() / 1e6, decode.busiestUnit()));
        for (Unit u : Unit.values()) {
            sb.append(String.format(Locale.ROOT, " %s=%.1f%%", u, 100 * decode.busyCycles().get(u) / ((double) decode.cycles() * chips())));
        }
        return Optional.of(sb.toString());
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        finishStep();
        if (tracePath != null && !tracedPrograms.isEmpty()) {
            try {
                ChromeTrace.write(tracedPrograms, tracePath);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the LPU trace " + tracePath, e);
            }
        }
        closed = true;
        array.close();
    }
}
