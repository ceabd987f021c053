package dev.tandem.kernels;

import static dev.tandem.kernels.Vec.F;
import static dev.tandem.kernels.Vec.FL;
import static dev.tandem.kernels.Vec.LE;
import static dev.tandem.kernels.Vec.S;
import static dev.tandem.kernels.Vec.SHORT_LE;
import static dev.tandem.kernels.Vec.S_PARTS;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;

/**
 * F16 weights: IEEE halves, converted exactly: in registers by the batch-1 dot ({@link #dotHalves}), a
 * row at a time into a buffer where several tokens share it (F16C's vcvtph2ps, see {@link #rowFloats}).
 */
public final class F16Matrix extends WeightMatrix {
    F16Matrix(MemorySegment data, int rows, int cols) { super(data, rows, cols); }

    @Override public WeightFormat format() { return WeightFormat.F16; }

    @Override
    public float dot(int row, float[] x, int xOff) {
        if (!Vec.ENABLED) {
            return dotScalar(row, x, xOff);
        }
        return dotVector(row, x, xOff, BUFFERS.get());
    }

    /** {@link #dot}'s rows of a matvec range with this thread's buffers looked up once, not per row. */
    @Override
    protected void matvecRows(int start, int end, float[] x, int xOff, float[] out, int outOff) {
        if (!Vec.ENABLED) {
            super.matvecRows(start, end, x, xOff, out, outOff);
            return;
        }
        if (ONE_PASS) { // the resident copy looked up once a range, not per row
            MemorySegment copy = resident();
            MemorySegment halves = copy != null ? copy : data;
            for (int r = start; r < end; r++) {
                out[outOff + r] = dotHalves(halves, rowOffset(r), x, xOff);
            }
            return;
        }
        RowBuffers b = BUFFERS.get();
        for (int r = start; r < end; r++) {
            out[outOff + r] = dotVector(r, x, xOff, b);
        }
    }

    private float dotVector(int row, float[] x, int xOff, RowBuffers b) {
        if (!ONE_PASS) {
            return dotFloats(rowFloats(row, b), x, xOff);
        }
        MemorySegment copy = resident();
        return dotHalves(copy != null ? copy : data, rowOffset(row), x, xOff);
    }

    private final ResidentMemory.Lazy resident = new ResidentMemory.Lazy();

    /**
     * The matrix's bytes copied once into 64-byte-aligned native memory of its own ({@link
     * ResidentMemory}), built by the first batch-1 dot; null where that is off or over its budget.
     * The one-pass dot read the TinyLlama F16 file's mapped pages at 26 GB/s on two threads and such a
     * copy at 31-39 GB/s (2048 x 2048, docs/benchmarks.md, session 14); a heap array, 16 bytes off a
     * cache line, ran 24. The values are the file's, so every dot keeps its bits.
     */
    private MemorySegment resident() {
        return resident.get(data, KernelConfig.f16Resident());
    }

    /** Tests: the row's batch-1 dot read from the mapping, whether or not a resident copy exists. */
    float dotFromMapping(int row, float[] x, int xOff) {
        return dotHalves(data, rowOffset(row), x, xOff);
    }

    /** {@link KernelConfig#f16OnePass}: batch-1 dots convert halves in registers ({@link #dotHalves}). */
    private static final boolean ONE_PASS = KernelConfig.f16OnePass();

    /**
     * {@link #dotFloats} of the row at byte offset base, each vector of halves converted in registers
     * ({@link Vec#f16ToFloat}, exactly {@link Float#float16ToFloat}): the same products and sums in the
     * same order, read once from the mapping or its resident copy.
     */
    private float dotHalves(MemorySegment halves, long base, float[] x, int xOff) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        int step = S.length();
        int j = 0;
        for (int bound = cols - 2 * step; j <= bound; j += 2 * step) {
            ShortVector h0 = ShortVector.fromMemorySegment(S, halves, base + 2L * j, LE);
            ShortVector h1 = ShortVector.fromMemorySegment(S, halves, base + 2L * (j + step), LE);
            for (int p = 0; p < S_PARTS; p++) {
                acc0 = Vec.f16ToFloat(h0, p).fma(FloatVector.fromArray(F, x, xOff + j + p * FL), acc0);
                acc1 = Vec.f16ToFloat(h1, p).fma(FloatVector.fromArray(F, x, xOff + j + step + p * FL), acc1);
            }
        }
        float sum = Vec.sum(acc0.add(acc1));
        for (; j < cols; j++) {
            sum += Float.float16ToFloat(halves.get(SHORT_LE, base + 2L * j)) * x[xOff + j];
        }
        return sum;
    }

    /**
     * {@link #dot} for the tokens b0..b1-1 of a batch too small for {@link TokenGemm}: the row is
     * copied and converted once for all of them (the default converted it again for every token).
     */
    @Override
    protected void batchDot(int row, float[] x, int b0, int b1, float[] out, float[] scratch) {
        if (!Vec.ENABLED) {
            super.batchDot(row, x, b0, b1, out, scratch);
            return;
        }
        float[] w = rowFloats(row, BUFFERS.get());
        for (int b = b0; b < b1; b++) {
            out[b * rows + row] = dotFloats(w, x, b * cols);
        }
    }

    /** {@link #dot}'s arithmetic on the row's floats w. */
    private float dotFloats(float[] w, float[] x, int xOff) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        int step = S.length();
        int j = 0;
        // Two steps per iteration into separate accumulators, to hide the FMA latency.
        for (int bound = cols - 2 * step; j <= bound; j += 2 * step) {
            for (int p = 0; p < S_PARTS; p++) {
                acc0 = FloatVector.fromArray(F, w, j + p * FL).fma(FloatVector.fromArray(F, x, xOff + j + p * FL), acc0);
                acc1 = FloatVector.fromArray(F, w, j + step + p * FL).fma(FloatVector.fromArray(F, x, xOff + j + step + p * FL), acc1);
            }
        }
        float sum = Vec.sum(acc0.add(acc1));
        for (; j < cols; j++) {
            sum += w[j] * x[xOff + j];
        }
        return sum;
    }

    /** This thread's buffers: a row's halves as copied out of the mapping, and as floats. */
    private static final class RowBuffers {
        short[] halves = new short[0];
        float[] floats = new float[0];
    }

    private static final ThreadLocal<RowBuffers> BUFFERS = ThreadLocal.withInitial(RowBuffers::new);

    /**
     * Row {@code row} as floats, in b (this thread's buffers; valid until their next use).
     * A bulk copy of the halves, then a plain conversion loop, which C2 compiles to F16C's vcvtph2ps
     * (8 halves an instruction): the Vector API has no half-float conversion, and widening halves
     * with integer and float lane operations cost ~11 instructions per 8 values, which bound F16
     * decode by computation (docs/benchmarks.md). The conversion is exact either way.
     */
    private float[] rowFloats(int row, RowBuffers b) {
        rowHalves(row, b);
        if (b.floats.length < cols) {
            b.floats = new float[cols];
        }
        halvesToFloats(b.halves, cols, b.floats, 0);
        return b.floats;
    }

    /** Row {@code row}'s halves copied into b.halves. */
    private RowBuffers rowHalves(int row, RowBuffers b) {
        if (b.halves.length < cols) {
            b.halves = new short[cols];
        }
        MemorySegment.copy(data, SHORT_LE, rowOffset(row), b.halves, 0, cols);
        return b;
    }

    private static void halvesToFloats(short[] halves, int n, float[] dst, int dstOff) {
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = Float.float16ToFloat(halves[i]);
        }
    }

    @Override
    boolean hasColdTwin() {
        return true;
    }

    /**
     * {@link #dot}'s lanes: of each 2*step elements the first step go to accumulator 0 and the rest to
     * accumulator 1, element e to lane e % FL; then the two added, summed, and the tail. The half to
     * float conversion is exact in both forms.
     */
    @Override
    float dotTwin(int row, float[] x, int xOff) {
        long base = rowOffset(row);
        int step = S.length();
        float[] acc0 = new float[FL], acc1 = new float[FL];
        int j = 0;
        for (int bound = cols - 2 * step; j <= bound; j += 2 * step) {
            for (int e = 0; e < step; e++) {
                acc0[e % FL] = Math.fma(half(base, j + e), x[xOff + j + e], acc0[e % FL]);
                acc1[e % FL] = Math.fma(half(base, j + step + e), x[xOff + j + step + e], acc1[e % FL]);
            }
        }
        for (int l = 0; l < FL; l++) {
            acc0[l] = acc0[l] + acc1[l];
        }
        float sum = ColdTwins.sum(acc0);
        for (; j < cols; j++) {
            sum += half(base, j) * x[xOff + j];
        }
        return sum;
    }

    private float half(long base, int j) {
        return Float.float16ToFloat(data.get(SHORT_LE, base + 2L * j));
    }

    @Override
    public float dotScalar(int row, float[] x, int xOff) {
        long base = rowOffset(row);
        float sum = 0f;
        for (int j = 0; j < cols; j++) {
            sum += Float.float16ToFloat(data.get(SHORT_LE, base + 2L * j)) * x[xOff + j];
        }
        return sum;
    }

    /** {@link #dot}'s chains (two accumulators alternating per step of S.length() halves), which {@link TokenGemm} reproduces: keep the two in step. */
    static final TokenGemm.Layout DOT_LAYOUT = new TokenGemm.Layout(2, S_PARTS);

    /** Token-tiled for a vector's worth of tokens and more, each (b, r) bit-identical to {@link #dot}. */
    @Override
    protected void matmulVector(float[] x, float[] out, int batch) {
        if (TokenGemm.serves(batch)) {
            TokenGemm.matmul(this, DOT_LAYOUT, x, out, batch);
            return;
        }
        super.matmulVector(x, out, batch);
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int dstOff) {
        if (Vec.ENABLED && !ColdStart.ROWS.cold(1)) { // the conversion is exact: the scalar loop is its twin
            halvesToFloats(rowHalves(row, BUFFERS.get()).halves, cols, dst, dstOff);
            return;
        }
        long base = rowOffset(row);
        for (int j = 0; j < cols; j++) {
            dst[dstOff + j] = Float.float16ToFloat(data.get(SHORT_LE, base + 2L * j));
        }
    }
}
