package dev.tandem.device.lpu;

import dev.tandem.device.lpu.Instruction.Attention;
import dev.tandem.device.lpu.Instruction.C2cRecv;
import dev.tandem.device.lpu.Instruction.C2cSend;
import dev.tandem.device.lpu.Instruction.LoadExpertWeights;
import dev.tandem.device.lpu.Instruction.LoadWeights;
import dev.tandem.device.lpu.Instruction.Matvec;
import dev.tandem.device.lpu.Instruction.MemRead;
import dev.tandem.device.lpu.Instruction.MemReadRow;
import dev.tandem.device.lpu.Instruction.MemWrite;
import dev.tandem.device.lpu.Instruction.Rope;
import dev.tandem.device.lpu.Instruction.RmsNorm;
import dev.tandem.device.lpu.Instruction.SxmPermute;
import dev.tandem.device.lpu.Instruction.SxmReduce;
import dev.tandem.device.lpu.Instruction.SxmRoute;
import dev.tandem.device.lpu.Instruction.SxmTranspose;
import dev.tandem.device.lpu.Instruction.VxmBinary;
import dev.tandem.device.lpu.Instruction.VxmScaleBy;
import dev.tandem.device.lpu.Instruction.VxmUnary;
import dev.tandem.kernels.Ops;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.model.MoeConfig;
import dev.tandem.runtime.model.MoeRouter;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * N chips of one config and the executor of static programs on them. Each chip's SRAM is a
 * {@link MemorySegment} of the chip's capacity, allocated the first time a full run or the host
 * touches it, so timing-only runs of huge models hold no SRAM at all. Stream registers hold fp32
 * tiles; MXM weight buffers hold views of the SRAM the weights were loaded from.
 *
 * <p>A run validates the whole program first; only a valid program executes, in issue order. The
 * cycle count comes from the program alone (see {@link RunStats}). Numerics are the kernels
 * module's: {@link WeightMatrix} matvecs split rows over threads (each row one thread, so results
 * do not depend on how many), and {@link Ops} for norms, rope, attention and elementwise work.
 *
 * <p>Not thread-safe: one program runs at a time.
 */
public final class ChipArray implements AutoCloseable {
    /** Full runs move data; timing-only runs only account cycles. */
    public enum Mode { FULL, TIMING }

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final ChipConfig config;
    private final int chips;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment[] sram;
    private final float[][][] streams;
    private final WeightMatrix[][] weightBuffers;
    private final Map<Long, byte[]> inFlight = new HashMap<>();
    private final boolean hostParallel;
    private boolean closed;

    public ChipArray(ChipConfig config, int chips) {
        this(config, chips, true);
    }

    /**
     * @param hostParallel whether matvecs spread rows over the kernels' thread pool; the result is
     *                     the same either way (each row is one dot product on one thread)
     */
    public ChipArray(ChipConfig config, int chips, boolean hostParallel) {
        this.hostParallel = hostParallel;
        if (chips < 1) {
            throw new IllegalArgumentException("need at least one chip, got " + chips);
        }
        this.config = config;
        this.chips = chips;
        this.sram = new MemorySegment[chips];
        this.streams = new float[chips][config.streamRegisters()][];
        this.weightBuffers = new WeightMatrix[chips][config.mxmWeightBuffers()];
    }

    public ChipConfig config() { return config; }

    public int chips() { return chips; }

    /** Whether chip's SRAM has been allocated on the host (full runs and host writes do that). */
    public boolean sramAllocated(int chip) { return sram[chip] != null; }

    /** The chip's SRAM, allocated (zeroed) on first use. */
    public MemorySegment sram(int chip) {
        if (sram[chip] == null) {
            sram[chip] = arena.allocate(config.sramBytes(), 64);
        }
        return sram[chip];
    }

    // ---- host I/O (the PCIe side: no cycles) ----

    public void writeFloats(int chip, long offset, float[] src, int srcOffset, int length) {
        MemorySegment.copy(src, srcOffset, sram(chip), F32, offset, length);
    }

    public void readFloats(int chip, long offset, float[] dst, int dstOffset, int length) {
        MemorySegment.copy(sram(chip), F32, offset, dst, dstOffset, length);
    }

    public void writeBytes(int chip, long offset, MemorySegment src) {
        MemorySegment.copy(src, 0, sram(chip), offset, src.byteSize());
    }

    // ---- running programs ----

    /**
     * Validates the whole program, then (in full mode) executes it.
     * @throws ScheduleException when the program is invalid; nothing has executed then
     */
    public RunStats run(StaticProgram program, Mode mode) {
        if (!program.config().equals(config)) {
            throw new IllegalArgumentException("the program is for " + program.config() + ", these chips are " + config);
        }
        if (program.chips() > chips) {
            throw new IllegalArgumentException("the program spans " + program.chips() + " chips, this array has " + chips);
        }
        ProgramValidator.validate(program);
        if (mode == Mode.FULL) {
            inFlight.clear();
            for (ScheduledInstruction s : program.instructions()) {
                execute(s.chip(), s.instruction());
            }
        }
        return RunStats.of(program);
    }

    private float[] stream(int chip, int id, int length) {
        float[] s = streams[chip][id];
        if (s == null || s.length < length) {
            s = s == null ? new float[length] : Arrays.copyOf(s, Math.max(length, s.length * 2));
            streams[chip][id] = s;
        }
        return s;
    }

    /** A stream register's contents, for tests and for reading results. */
    public float[] streamContents(int chip, int id, int offset, int length) {
        return Arrays.copyOfRange(stream(chip, id, offset + length), offset, offset + length);
    }

    private static long messageKey(int from, int to, int tag) {
        return ((long) from << 44) ^ ((long) to << 24) ^ (tag & 0xFFFFFFL);
    }

    private void execute(int chip, Instruction instruction) {
        switch (instruction) {
            case MemRead i -> MemorySegment.copy(sram(chip), F32, i.sram(),
                    stream(chip, i.stream(), i.streamOffset() + i.floats()), i.streamOffset(), i.floats());
            case MemWrite i -> MemorySegment.copy(stream(chip, i.stream(), i.streamOffset() + i.floats()), i.streamOffset(),
                    sram(chip), F32, i.sram(), i.floats());
            case MemReadRow i -> {
                long rowBytes = i.format().bytesFor(i.cols());
                WeightMatrix table = WeightMatrix.of(i.format(), sram(chip).asSlice(i.sram(), rowBytes * i.rows()), i.rows(), i.cols());
                table.dequantizeRow(i.row(), stream(chip, i.stream(), i.streamOffset() + i.cols()), i.streamOffset());
            }
            case LoadWeights i -> weightBuffers[chip][i.buffer()] = WeightMatrix.of(i.format(),
                    sram(chip).asSlice(i.sram(), i.format().bytesFor((long) i.rows() * i.cols())), i.rows(), i.cols());
            case LoadExpertWeights i -> {
                float chosen = stream(chip, i.index(), i.indexOffset() + 1)[i.indexOffset()];
                int e = (int) chosen;
                if (e != chosen || e < 0 || e >= i.experts()) {
                    throw new IllegalStateException("chip " + chip + ": expert index " + chosen + " outside 0.." + (i.experts() - 1));
                }
                weightBuffers[chip][i.buffer()] = WeightMatrix.of(i.format(),
                        sram(chip).asSlice(i.sram() + e * i.stride(), i.bytes()), i.rows(), i.cols());
            }
            case Matvec i -> matvec(chip, i);
            case Attention i -> {
                int qDim = i.nHeads() * i.headDim(), kv = i.positions() * i.nKvHeads() * i.headDim();
                float[] q = stream(chip, i.q(), i.batch() * qDim);
                float[] k = stream(chip, i.k(), kv), v = stream(chip, i.v(), kv);
                float[] out = stream(chip, i.out(), i.batch() * qDim);
                if (i.batch() == 1) {
                    Ops.attention(out, 0, q, 0, k, v, 0, i.positions(), i.nHeads(), i.nKvHeads(), i.headDim());
                } else {
                    Ops.attentionPrefill(out, q, k, v, 0, i.startPos(), i.batch(), i.nHeads(), i.nKvHeads(), i.headDim());
                }
            }
            case VxmBinary i -> {
                float[] a = stream(chip, i.a(), i.aOffset() + i.n()), b = stream(chip, i.b(), i.bOffset() + i.n());
                switch (i.op()) {
                    case ADD -> Ops.addInPlace(a, i.aOffset(), b, i.bOffset(), i.n());
                    case SILU_MUL -> Ops.siluMul(a, i.aOffset(), b, i.bOffset(), i.n());
                    case MUL -> {
                        for (int j = 0; j < i.n(); j++) {
                            a[i.aOffset() + j] *= b[i.bOffset() + j];
                        }
                    }
                }
            }
            case VxmScaleBy i -> {
                float[] v = stream(chip, i.stream(), i.offset() + i.n());
                float scale = stream(chip, i.scalar(), i.scalarOffset() + 1)[i.scalarOffset()];
                for (int j = i.offset(); j < i.offset() + i.n(); j++) {
                    v[j] *= scale;
                }
            }
            case SxmRoute i -> route(stream(chip, i.src(), i.srcOffset() + i.n()), i.srcOffset(), i.n(), i.k(), i.normalize(),
                    stream(chip, i.dst(), i.dstOffset() + 2 * i.k()), i.dstOffset());
            case VxmUnary i -> {
                float[] s = stream(chip, i.stream(), i.offset() + i.n());
                for (int j = i.offset(); j < i.offset() + i.n(); j++) {
                    s[j] = unary(i.op(), s[j], i.scalar());
                }
            }
            case RmsNorm i -> {
                float[] x = stream(chip, i.x(), i.xOffset() + i.n() * i.batch());
                float[] w = stream(chip, i.weight(), i.n());
                float[] out = stream(chip, i.out(), i.outOffset() + i.n() * i.batch());
                for (int b = 0; b < i.batch(); b++) {
                    Ops.rmsnorm(out, i.outOffset() + b * i.n(), x, i.xOffset() + b * i.n(), w, i.n(), i.eps());
                }
            }
            case Rope i -> {
                float[] s = stream(chip, i.stream(), i.offset() + i.span());
                float[] freq = stream(chip, i.freq(), i.headDim() / 2);
                for (int b = 0; b < i.batch(); b++) {
                    Ops.rope(s, i.offset() + b * i.rowStride(), i.nHeads(), i.headDim(), i.pos0() + b, freq);
                }
            }
            case SxmReduce i -> {
                float[] src = stream(chip, i.src(), i.srcOffset() + i.parts() * i.n());
                float[] sum = Arrays.copyOfRange(src, i.srcOffset(), i.srcOffset() + i.n());
                for (int p = 1; p < i.parts(); p++) {
                    Ops.addInPlace(sum, 0, src, i.srcOffset() + p * i.n(), i.n());
                }
                System.arraycopy(sum, 0, stream(chip, i.out(), i.outOffset() + i.n()), i.outOffset(), i.n());
            }
            case SxmPermute i -> {
                float[] src = stream(chip, i.src(), i.srcOffset() + (i.rows() - 1) * i.srcStride() + i.length());
                float[] dst = stream(chip, i.dst(), i.dstOffset() + (i.rows() - 1) * i.dstStride() + i.length());
                float[] from = i.src() == i.dst() ? src.clone() : src;
                for (int r = 0; r < i.rows(); r++) {
                    System.arraycopy(from, i.srcOffset() + r * i.srcStride(), dst, i.dstOffset() + r * i.dstStride(), i.length());
                }
            }
            case SxmTranspose i -> {
                float[] src = stream(chip, i.src(), i.srcOffset() + i.rows() * i.cols());
                float[] t = new float[i.rows() * i.cols()];
                for (int r = 0; r < i.rows(); r++) {
                    for (int c = 0; c < i.cols(); c++) {
                        t[c * i.rows() + r] = src[i.srcOffset() + r * i.cols() + c];
                    }
                }
                System.arraycopy(t, 0, stream(chip, i.dst(), i.dstOffset() + t.length), i.dstOffset(), t.length);
            }
            case C2cSend i -> {
                byte[] data = new byte[(int) i.bytes()];
                MemorySegment.copy(sram(chip), ValueLayout.JAVA_BYTE, i.sram(), data, 0, data.length);
                inFlight.put(messageKey(chip, i.toChip(), i.tag()), data);
            }
            case C2cRecv i -> {
                byte[] data = inFlight.remove(messageKey(i.fromChip(), chip, i.tag()));
                MemorySegment.copy(data, 0, sram(chip), ValueLayout.JAVA_BYTE, i.sram(), data.length);
            }
        }
    }

    private void matvec(int chip, Matvec i) {
        WeightMatrix w = weightBuffers[chip][i.buffer()];
        if (w.format() != i.format() || w.rows() != i.rows() || w.cols() != i.cols()) {
            throw new IllegalStateException("weight buffer " + i.buffer() + " of chip " + chip + " holds a " + w.format() + " "
                    + w.rows() + "x" + w.cols() + " tile, the matvec expects " + i.format() + " " + i.rows() + "x" + i.cols());
        }
        float[] in = stream(chip, i.in(), i.inOffset() + i.batch() * i.cols());
        float[] out = stream(chip, i.out(), i.outOffset() + (i.batch() - 1) * i.outStride() + i.rows());
        if (i.batch() == 1 && hostParallel) {
            w.matvec(in, i.inOffset(), out, i.outOffset());
            return;
        }
        if (!hostParallel) {
            for (int b = 0; b < i.batch(); b++) {
                for (int r = 0; r < i.rows(); r++) {
                    out[i.outOffset() + b * i.outStride() + r] = w.dot(r, in, i.inOffset() + b * i.cols());
                }
            }
            return;
        }
        float[] x = Arrays.copyOfRange(in, i.inOffset(), i.inOffset() + i.batch() * i.cols());
        float[] y = new float[i.batch() * i.rows()];
        w.matmul(x, y, i.batch());
        for (int b = 0; b < i.batch(); b++) {
            System.arraycopy(y, b * i.rows(), out, i.outOffset() + b * i.outStride(), i.rows());
        }
    }

    /**
     * The reference's routing ({@link MoeRouter#route}) of n logits: the k chosen experts' indices as
     * fp32 in ascending order, then their weights.
     */
    static void route(float[] logits, int offset, int n, int k, boolean normalize, float[] out, int outOffset) {
        int[] ids = new int[k];
        float[] weights = new float[k];
        new MoeRouter(new MoeConfig(n, k, 1, normalize, 0)).route(logits, offset, ids, weights);
        for (int j = 0; j < k; j++) {
            out[outOffset + j] = ids[j];
            out[outOffset + k + j] = weights[j];
        }
    }

    static float unary(Instruction.UnaryOp op, float x, float scalar) {
        return switch (op) {
            case SCALE -> x * scalar;
            case RSQRT -> (float) (1.0 / Math.sqrt(x));
            case EXP -> (float) Math.exp(x);
            case SILU -> x / (1f + (float) Math.exp(-x));
            case SIGMOID -> MoeRouter.sharedGate(x);
            case CONVERT_F16 -> Float.float16ToFloat(Float.floatToFloat16(x));
            case CONVERT_BF16 -> {
                int bits = Float.floatToRawIntBits(x);
                if (Float.isNaN(x)) {
                    yield x;
                }
                int rounded = bits + 0x7FFF + ((bits >>> 16) & 1); // round to nearest even
                yield Float.intBitsToFloat(rounded & 0xFFFF0000);
            }
        };
    }

    /** Frees every chip's SRAM; may be called twice. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }
}
