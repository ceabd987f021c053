package dev.tandem.kernels;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A read-only (rows, cols) weight matrix over a memory segment (usually a memory-mapped model file),
 * multiplied against F32 activations. One subclass per {@link WeightFormat}; each has a Vector API
 * path and a scalar path, and {@link KernelConfig#vectorBits()} == 0 forces the scalar one.
 *
 * CONTRACT:
 *   - of(...) validates data.byteSize() >= format.bytesFor(rows*cols) and cols % blockSize == 0,
 *     throwing IllegalArgumentException naming the problem.
 *   - dot/dotScalar: sum_j W[row, j] * x[xOff + j], accumulated in fp32. The K-quants
 *     ({@link KQuantMatrix}) first quantize x to Q8_K (8 bits per value, a scale per 256) and sum
 *     integers, as llama.cpp does; their dot and dotScalar agree bit for bit.
 *   - matvec: out[outOff + r] = dot(r, x, xOff) for r in [0, rows), split over Parallel.
 *   - matmul: for b in [0,batch): out[b*rows + r] = dot(r, x, b*cols); blocked so each weight row
 *     is read once per tile of activations (prefill).
 *   - dequantizeRow: dst[dstOff + j] = W[row, j] exactly (for embeddings and references).
 *
 * The segment may have any alignment; every read is an unaligned little-endian access. matvec and
 * matmul read it from {@link Parallel}'s worker threads, so it must not come from a confined arena
 * (map model files with a shared, auto or global arena).
 */
public abstract sealed class WeightMatrix permits F32Matrix, F16Matrix, BF16Matrix, Q8_0Matrix, Q4_0Matrix, KQuantMatrix {
    protected final MemorySegment data;
    protected final int rows;
    protected final int cols;
    /** Bytes per row (rows are contiguous). */
    protected final long rowBytes;

    protected WeightMatrix(MemorySegment data, int rows, int cols) {
        this.data = data;
        this.rows = rows;
        this.cols = cols;
        // format() returns a constant in every subclass, so calling it during construction is safe.
        this.rowBytes = format().bytesFor(cols);
    }

    public static WeightMatrix of(WeightFormat format, MemorySegment data, int rows, int cols) {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(data, "data");
        if (rows <= 0) {
            throw new IllegalArgumentException(format + " matrix needs rows > 0, got rows=" + rows);
        }
        if (cols <= 0) {
            throw new IllegalArgumentException(format + " matrix needs cols > 0, got cols=" + cols);
        }
        if (cols % format.blockSize() != 0) {
            throw new IllegalArgumentException(format + " matrix needs cols to be a multiple of its block size "
                    + format.blockSize() + ", got cols=" + cols);
        }
        long need = format.bytesFor((long) rows * cols);
        if (data.byteSize() < need) {
            throw new IllegalArgumentException(format + " matrix of " + rows + "x" + cols + " needs " + need
                    + " bytes, but the segment holds only " + data.byteSize());
        }
        return switch (format) {
            case F32 -> new F32Matrix(data, rows, cols);
            case F16 -> new F16Matrix(data, rows, cols);
            case BF16 -> new BF16Matrix(data, rows, cols);
            case Q8_0 -> new Q8_0Matrix(data, rows, cols);
            case Q4_0 -> new Q4_0Matrix(data, rows, cols);
            case Q2_K -> new Q2_KMatrix(data, rows, cols);
            case Q3_K -> new Q3_KMatrix(data, rows, cols);
            case Q4_K -> new Q4_KMatrix(data, rows, cols);
            case Q5_K -> new Q5_KMatrix(data, rows, cols);
            case Q6_K -> new Q6_KMatrix(data, rows, cols);
        };
    }

    public abstract WeightFormat format();

    public final int rows() { return rows; }

    public final int cols() { return cols; }

    public final MemorySegment data() { return data; }

    /** Bytes of weights this matrix reads in one full pass. */
    public final long byteSize() { return format().bytesFor((long) rows * cols); }

    /** Vector path (or the scalar one when vectors are off). */
    public abstract float dot(int row, float[] x, int xOff);

    /**
     * Plain-loop reference of {@link #dot}, always available whatever the configuration (for Q8_0
     * and Q4_0 under tandem.quantDot=int8: the integer arithmetic, activations quantized first).
     */
    public abstract float dotScalar(int row, float[] x, int xOff);

    /**
     * Plain-loop dot with fp32 activations, what a float-only device (OpenCL) computes; the same as
     * {@link #dotScalar} for formats without an integer path.
     */
    public float dotScalarFloat(int row, float[] x, int xOff) {
        return dotScalar(row, x, xOff);
    }

    public abstract void dequantizeRow(int row, float[] dst, int dstOff);

    /** Byte offset of a row in {@link #data}, after checking the row index. */
    protected final long rowOffset(int row) {
        Objects.checkIndex(row, rows);
        return row * rowBytes;
    }

    public final void matvec(float[] x, int xOff, float[] out, int outOff) {
        Parallel.forRange(rows, matvecMinChunk(), matvecTask(x, xOff, out, outOff));
    }

    /** Rows per pool chunk: at least ~32 KiB of weights, so the per-chunk cost stays noise. */
    int matvecMinChunk() {
        return (int) Math.max(1, (32 * 1024) / rowBytes);
    }

    /**
     * Checks matvec's arguments and prepares what every row reads (the integer formats quantize the
     * activations here, once); the returned body sets out[outOff + r] = dot(r, x, xOff) for a range
     * of rows, on the calling thread.
     */
    Parallel.RangeBody matvecTask(float[] x, int xOff, float[] out, int outOff) {
        Objects.checkFromIndexSize(xOff, cols, x.length);
        Objects.checkFromIndexSize(outOff, rows, out.length);
        if (Vec.ENABLED && hasColdTwin() && ColdStart.coldMatrix(1, (long) rows * cols)) {
            return (start, end) -> {
                for (int r = start; r < end; r++) {
                    out[outOff + r] = dotTwin(r, x, xOff);
                }
            };
        }
        return (start, end) -> matvecRows(start, end, x, xOff, out, outOff);
    }

    /**
     * Several matvecs of one input (a layer's Q, K and V, or its W1 and W3) as one job on the pool:
     * one hand-off instead of one per matrix, and no idle gap between them. Each row of outs[i]
     * (from index 0) is ms[i].dot(r, x, xOff), bit for bit what ms[i].matvec gives.
     */
    public static void matvecs(float[] x, int xOff, WeightMatrix[] ms, float[][] outs) {
        if (ms.length != outs.length) {
            throw new IllegalArgumentException(ms.length + " matrices but " + outs.length + " outputs");
        }
        Parallel.RangeBody[] bodies = new Parallel.RangeBody[ms.length];
        int[] first = new int[ms.length + 1];
        int minChunk = 1;
        for (int i = 0; i < ms.length; i++) {
            bodies[i] = ms[i].matvecTask(x, xOff, outs[i], 0);
            first[i + 1] = Math.addExact(first[i], ms[i].rows);
            minChunk = Math.max(minChunk, ms[i].matvecMinChunk());
        }
        // The rows of all matrices one after the other; a chunk may span two of them.
        Parallel.forRange(first[ms.length], minChunk, (start, end) -> {
            for (int i = 0; i < bodies.length; i++) {
                int from = Math.max(start, first[i]), to = Math.min(end, first[i + 1]);
                if (from < to) {
                    bodies[i].run(from - first[i], to - first[i]);
                }
            }
        });
    }

    /** Whether this format has a {@link #dotTwin} that {@link #matvec} runs while the kernels are cold. */
    boolean hasColdTwin() {
        return false;
    }

    /**
     * {@link #dot}'s vector form in scalar code, bit-identical to it (see {@link ColdTwins}); formats
     * that have one override it together with {@link #hasColdTwin}.
     */
    float dotTwin(int row, float[] x, int xOff) {
        return dot(row, x, xOff);
    }

    /**
     * out[outOff + r] = dot(r) for r in [start, end), on the calling thread. Formats override it to
     * work on several rows per pass: decode's rows are short (768 to 4096 values), and per-row loop
     * set-up and reduction otherwise cost as much as the memory traffic.
     */
    protected void matvecRows(int start, int end, float[] x, int xOff, float[] out, int outOff) {
        for (int r = start; r < end; r++) {
            out[outOff + r] = dot(r, x, xOff);
        }
    }

    public void matmul(float[] x, float[] out, int batch) {
        if (batch < 0) {
            throw new IllegalArgumentException("batch must be >= 0, got " + batch);
        }
        Objects.checkFromIndexSize(0, (long) batch * cols, x.length);
        Objects.checkFromIndexSize(0, (long) batch * rows, out.length);
        if (batch == 0) {
            return;
        }
        if (!Vec.ENABLED) {
            Parallel.forRange(rows, 8, (start, end) -> {
                for (int r = start; r < end; r++) {
                    for (int b = 0; b < batch; b++) {
                        out[b * rows + r] = dotScalar(r, x, b * cols);
                    }
                }
            });
            return;
        }
        matmulVector(x, out, batch);
    }

    /**
     * Several matrices times the same activations x (batch, cols): outs[i] gets ms[i] x, (batch,
     * ms[i].rows), each value exactly what {@link #matvec} (batch 1) or {@link #matmul} gives it. A
     * layer's Q, K and V (or W1 and W3) read one input: for the integer-dot formats the activations
     * are quantized once and all matrices' rows share one pass over the pool, instead of one
     * quantization and one pool hand-off per matrix.
     */
    public static void matmulEach(WeightMatrix[] ms, float[] x, float[][] outs, int batch) {
        if (ms.length != outs.length) {
            throw new IllegalArgumentException(ms.length + " matrices but " + outs.length + " outputs");
        }
        if (IntDot.sharesActivations(ms)) {
            IntDot.matmulEach(ms, x, outs, batch, ms[0].rowBytes);
            return;
        }
        if (batch == 1) {
            matvecs(x, 0, ms, outs);
            return;
        }
        for (int i = 0; i < ms.length; i++) {
            ms[i].matmul(x, outs[i], batch);
        }
    }

    /** Activation bytes per batch tile of {@link #matmulVector}: about half a core's L2. */
    private static final int TILE_BYTES = 512 * 1024;

    /**
     * The vector matmul. Every (b, r) must be exactly {@code dot(r, x, b*cols)}, bit for bit, so a
     * row's result does not depend on the batch it shares (the engine's batch invariance). By
     * default each weight row, once in L1, is dotted against a tile of activation rows with
     * {@link #batchDot}; F32 keeps the register-blocked {@link Gemm}, whose arithmetic is its dot's.
     */
    protected void matmulVector(float[] x, float[] out, int batch) {
        int tile = Math.clamp(TILE_BYTES / (4L * cols), 4, 256);
        Parallel.forRange(rows, 8, (start, end) -> {
            float[] scratch = batchScratch();
            for (int b0 = 0; b0 < batch; b0 += tile) {
                int b1 = Math.min(batch, b0 + tile);
                for (int r = start; r < end; r++) {
                    batchDot(r, x, b0, b1, out, scratch);
                }
            }
        });
    }

    /** Per-thread scratch for {@link #batchDot}; none by default. */
    protected float[] batchScratch() {
        return null;
    }

    /** out[b*rows + row] = dot(row, x, b*cols) for b in [b0, b1), exactly; formats may share work across b. */
    protected void batchDot(int row, float[] x, int b0, int b1, float[] out, float[] scratch) {
        for (int b = b0; b < b1; b++) {
            out[b * rows + row] = dot(row, x, b * cols);
        }
    }
}
