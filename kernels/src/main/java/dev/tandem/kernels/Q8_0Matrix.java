package dev.tandem.kernels;

import static dev.tandem.kernels.Vec.B;
import static dev.tandem.kernels.Vec.B_PARTS;
import static dev.tandem.kernels.Vec.F;
import static dev.tandem.kernels.Vec.FL;
import static dev.tandem.kernels.Vec.LE;
import static dev.tandem.kernels.Vec.SHORT_LE;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import java.util.Objects;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q8_0 weights: blocks of {f16 d; int8 q[32]} (34 bytes), value = q*d.
 *
 * <p>Two products: with tandem.quantDot=int8 (the default) dot, matvec and matmul quantize the
 * activations to 8-bit blocks and multiply integers ({@link IntDot}'s arithmetic, in
 * {@link #dotQ8}); with tandem.quantDot=float, or through {@link #dotFloat}, the activations stay fp32.
 */
public final class Q8_0Matrix extends WeightMatrix implements IntDot.Format {
    static final int BLOCK = 32;
    static final int BLOCK_BYTES = 34;

    /** Whether dotQ8Pair reads ahead: only for a matrix too big to stay in a core's cache (see {@link ReadAhead#streams}). */
    private final boolean readAhead;

    /** The batch-1 kernel's paired rows and the batched kernels' row lanes ({@link RowLaneGemm}), built on first use. */
    private final PairedRows.Lazy paired = new PairedRows.Lazy();
    private final RowLaneCopy.Lazy rowLanes = new RowLaneCopy.Lazy();

    Q8_0Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
        readAhead = ReadAhead.streams(byteSize());
    }

    @Override public WeightFormat format() { return WeightFormat.Q8_0; }

    @Override public RowLaneCopy.Lazy rowLanes() { return rowLanes; }

    @Override
    public float dot(int row, float[] x, int xOff) {
        if (!KernelConfig.integerDot()) {
            return dotFloat(row, x, xOff);
        }
        Objects.checkFromIndexSize(xOff, cols, x.length);
        return dotQ8(row, Q8Activations.quantize(x, xOff, 1, cols), 0);
    }

    @Override
    public float dotScalar(int row, float[] x, int xOff) {
        if (!KernelConfig.integerDot()) {
            return dotScalarFloat(row, x, xOff);
        }
        Objects.checkFromIndexSize(xOff, cols, x.length);
        return dotQ8Scalar(row, Q8Activations.quantize(x, xOff, 1, cols), 0);
    }

    @Override
    Parallel.RangeBody matvecTask(float[] x, int xOff, float[] out, int outOff) {
        return KernelConfig.integerDot() ? IntDot.matvecTask(this, x, xOff, out, outOff) : super.matvecTask(x, xOff, out, outOff);
    }

    @Override
    int matvecMinChunk() {
        return KernelConfig.integerDot() ? IntDot.matvecMinChunk(rowBytes) : super.matvecMinChunk();
    }

    @Override
    public void matmul(float[] x, float[] out, int batch) {
        if (!KernelConfig.integerDot()) {
            super.matmul(x, out, batch);
            return;
        }
        IntDot.matmul(this, x, out, batch);
    }

    // ---- fp32 activations ----

    /** sum_j W[row, j] * x[xOff + j] with fp32 activations (vector path, or scalar when vectors are off). */
    public float dotFloat(int row, float[] x, int xOff) {
        if (!Vec.ENABLED) {
            return dotScalarFloat(row, x, xOff);
        }
        long base = rowOffset(row);
        int blocks = cols / BLOCK;
        // Two blocks per iteration into two accumulators: with one, the scale FMA's latency (one
        // dependent FMA per block) and not memory would bound the loop.
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int blk = 0;
        for (; blk + 1 < blocks; blk += 2) {
            long o = base + (long) blk * BLOCK_BYTES;
            int xj = xOff + blk * BLOCK;
            acc0 = blockDot(o, x, xj).fma(scale(o), acc0);
            acc1 = blockDot(o + BLOCK_BYTES, x, xj + BLOCK).fma(scale(o + BLOCK_BYTES), acc1);
        }
        if (blk < blocks) {
            long o = base + (long) blk * BLOCK_BYTES;
            acc0 = blockDot(o, x, xOff + blk * BLOCK).fma(scale(o), acc0);
        }
        return Vec.sum(acc0.add(acc1));
    }

    /** The block's scale d in every lane. */
    private FloatVector scale(long o) {
        return FloatVector.broadcast(F, Float.float16ToFloat(data.get(SHORT_LE, o)));
    }

    /**
     * The unscaled q.x of the block at byte offset o, in lanes: a 128-bit ByteVector widens to 16 float
     * lanes on AVX-512, so two loads cover the block with no per-element scalar work.
     */
    private FloatVector blockDot(long o, float[] x, int xj) {
        FloatVector s = FloatVector.zero(F);
        for (int k = 0; k < BLOCK; k += B.length()) {
            ByteVector q = ByteVector.fromMemorySegment(B, data, o + 2 + k, LE);
            for (int p = 0; p < B_PARTS; p++) {
                s = Vec.bytesToFloat(q, p).fma(FloatVector.fromArray(F, x, xj + k + p * FL), s);
            }
        }
        return s;
    }

    /** In-block offsets in the order {@link #blockDot} multiplies them. */
    private static final int[] DOT_ORDER = dotOrder();

    private static int[] dotOrder() {
        int[] order = new int[BLOCK / FL];
        int i = 0;
        for (int k = 0; k < BLOCK; k += B.length()) {
            for (int p = 0; p < B_PARTS; p++) {
                order[i++] = k + p * FL;
            }
        }
        return order;
    }

    @Override
    protected float[] batchScratch() {
        return new float[cols + cols / BLOCK];
    }

    /** The row's quants (exact as floats) and scales unpacked once, then {@link #dot}'s arithmetic per b. */
    @Override
    protected void batchDot(int row, float[] x, int b0, int b1, float[] out, float[] scratch) {
        float[] scales = new float[cols / BLOCK];
        decodeInts(row, scratch, 0, scales, 0);
        QuantBatchDot.dots(scratch, scales, DOT_ORDER, cols, x, b0, b1, out, rows, row);
    }

    @Override
    public void decodeInts(int row, float[] dst, int dstOff, float[] scales, int sOff) {
        PairedRows pr = Vec.ENABLED && KernelConfig.decodePaired() ? pairedCopy() : null;
        if (pr != null) {
            decodePaired(pr, row, dst, dstOff, scales, sOff);
            return;
        }
        long base = rowOffset(row);
        int blocks = cols / BLOCK;
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * BLOCK_BYTES;
            scales[sOff + blk] = Float.float16ToFloat(data.get(SHORT_LE, o));
            int dj = dstOff + blk * BLOCK;
            if (Vec.ENABLED) {
                for (int k = 0; k < BLOCK; k += B.length()) {
                    ByteVector q = ByteVector.fromMemorySegment(B, data, o + 2 + k, LE);
                    for (int p = 0; p < B_PARTS; p++) {
                        Vec.bytesToFloat(q, p).intoArray(dst, dj + k + p * FL);
                    }
                }
            } else {
                for (int k = 0; k < BLOCK; k++) {
                    dst[dj + k] = data.get(ValueLayout.JAVA_BYTE, o + 2 + k);
                }
            }
        }
    }

    /**
     * {@link #decodeInts} from the batch-1 kernels' paired copy (the same quants, the scales already
     * floats): a heap array on huge pages streams faster than the file's mapping, whose 4 KiB pages stop
     * the hardware prefetcher at every page boundary; the batched kernels' decode was 35 % of TinyLlama
     * Q8_0's batch-16 decode profile, at 3.6 GB/s a thread (docs/benchmarks.md, "Batched Q8_0 decode from
     * the paired copy", session 18).
     */
    private static void decodePaired(PairedRows p, int row, float[] dst, int dstOff, float[] scales, int sOff) {
        byte[] q = p.q;
        float[] d = p.d;
        int blocks = p.blocks, first = (row >> 1) * blocks, h = row & 1;
        for (int blk = 0; blk < blocks; blk++) {
            int at = first + blk, w = at * 2 * BLOCK + h * BLOCK, dj = dstOff + blk * BLOCK;
            scales[sOff + blk] = d[2 * at + h];
            for (int k = 0; k < BLOCK; k += B.length()) {
                ByteVector v = ByteVector.fromArray(B, q, w + k);
                for (int part = 0; part < B_PARTS; part++) {
                    Vec.bytesToFloat(v, part).intoArray(dst, dj + k + part * FL);
                }
            }
        }
    }

    @Override
    public float dotScalarFloat(int row, float[] x, int xOff) {
        long base = rowOffset(row);
        int blocks = cols / BLOCK;
        float sum = 0f;
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * BLOCK_BYTES;
            int xj = xOff + blk * BLOCK;
            float s = 0f;
            for (int k = 0; k < BLOCK; k++) {
                s += data.get(ValueLayout.JAVA_BYTE, o + 2 + k) * x[xj + k];
            }
            sum += s * Float.float16ToFloat(data.get(SHORT_LE, o));
        }
        return sum;
    }

    // ---- 8-bit activations: IntDot's arithmetic ----

    /** Row {@code row} times activation row {@code aRow} in IntDot's arithmetic (vector path). */
    public float dotQ8(int row, Q8Activations a, int aRow) {
        IntDot.checkActivations(this, a, aRow);
        if (!IntDot.VECTOR) {
            return dotQ8Scalar(row, a, aRow);
        }
        long base = rowOffset(row);
        int blocks = cols / BLOCK;
        short[] q = a.q;
        int qBase = aRow * cols, dBase = aRow * blocks;
        if (IntDot.WIDE) {
            FloatVector acc = FloatVector.zero(IntDot.F);
            for (int blk = 0; blk < blocks; blk++) {
                long o = base + (long) blk * BLOCK_BYTES;
                int j = qBase + blk * BLOCK;
                FloatVector s = IntDot.scale(Float.float16ToFloat(data.get(SHORT_LE, o)) * a.d[dBase + blk]);
                acc = IntDot.lanes(w(o + 2), IntDot.act(q, j), w(o + 18), IntDot.act(q, j + 16)).fma(s, acc);
            }
            return IntDot.finish(acc);
        }
        FloatVector lo = FloatVector.zero(IntDot.F), hi = FloatVector.zero(IntDot.F);
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * BLOCK_BYTES;
            int j = qBase + blk * BLOCK;
            FloatVector s = IntDot.scale(Float.float16ToFloat(data.get(SHORT_LE, o)) * a.d[dBase + blk]);
            lo = IntDot.lanes(w(o + 2), IntDot.act(q, j), w(o + 18), IntDot.act(q, j + 16)).fma(s, lo);
            hi = IntDot.lanes(w(o + 10), IntDot.act(q, j + 8), w(o + 26), IntDot.act(q, j + 24)).fma(s, hi);
        }
        return IntDot.finish(lo, hi);
    }

    /** IntDot.SL weights at byte offset o, widened to shorts. */
    private ShortVector w(long o) {
        return IntDot.widen(ByteVector.fromMemorySegment(IntDot.B, data, o, LE));
    }

    /** The plain-Java reference of {@link #dotQ8}: bit-identical to it. */
    public float dotQ8Scalar(int row, Q8Activations a, int aRow) {
        IntDot.checkActivations(this, a, aRow);
        int blocks = cols / BLOCK;
        // The row in a reused buffer: this is also the cold-start twin (see ColdTwins.row).
        byte[] bytes = ColdTwins.row(data, rowOffset(row), (int) rowBytes);
        float[] acc = ColdTwins.lanes8();
        for (int blk = 0; blk < blocks; blk++) {
            int o = blk * BLOCK_BYTES;
            float scale = IntDot.half(bytes, o) * a.d[aRow * blocks + blk];
            IntDot.accumulateScalar(acc, bytes, o + 2, a.q, aRow * cols + blk * BLOCK, scale);
        }
        return IntDot.finishScalar(acc);
    }

    @Override
    public void decodeShorts(int row, short[] dst, float[] scales) {
        long base = rowOffset(row);
        int blocks = cols / BLOCK;
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * BLOCK_BYTES;
            scales[blk] = Float.float16ToFloat(data.get(SHORT_LE, o));
            w(o + 2).intoArray(dst, blk * BLOCK);
            w(o + 18).intoArray(dst, blk * BLOCK + 16);
        }
    }

    @Override
    public void decodeLanes(int row, float[] dst, float[] scales) {
        long base = rowOffset(row);
        int blocks = cols / BLOCK;
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * BLOCK_BYTES;
            scales[blk] = Float.float16ToFloat(data.get(SHORT_LE, o));
            IntRowGemm.evenOdd(w(o + 2), dst, blk * BLOCK);
            IntRowGemm.evenOdd(w(o + 18), dst, blk * BLOCK + 16);
        }
    }

    /** The paired copy (built by the first caller), or null where pairing is off or it did not fit. */
    private PairedRows pairedCopy() {
        return paired.get(() -> PairedRows.of(data, rows, cols / BLOCK, BLOCK_BYTES, BLOCK));
    }

    @Override
    public void dotRows(int start, int end, Q8Activations a, int aRow, float[] out, int outOff) {
        PairedRows p = pairedCopy();
        if (p != null) {
            IntDot.checkActivations(this, a, aRow);
            PairedRows.forRows(start, end, (r, n) -> {
                if (n == 2) {
                    dotPairPaired(p, r, a, aRow, out, outOff + r);
                } else {
                    out[outOff + r] = dotPaired(p, r, a, aRow);
                }
            });
            return;
        }
        int r = start;
        if (IntDot.WIDE) {
            // Two rows per pass: they share the activation loads, and two accumulator chains hide the FMA latency.
            for (; r + 1 < end; r += 2) {
                dotQ8Pair(r, a, aRow, out, outOff + r);
            }
        }
        for (; r < end; r++) {
            out[outOff + r] = dotQ8(r, a, aRow);
        }
    }

    /** Rows r, r+1 (r even) into out[o], out[o+1]: one 64-byte run of the paired copy per block. */
    private void dotPairPaired(PairedRows p, int r, Q8Activations a, int aRow, float[] out, int o) {
        byte[] wq = p.q;
        float[] wd = p.d;
        short[] aq = a.q;
        float[] ad = a.d;
        int blocks = p.blocks;
        int qBase = aRow * cols, dBase = aRow * blocks;
        int first = (r >> 1) * blocks;
        FloatVector acc0 = FloatVector.zero(IntDot.F), acc1 = FloatVector.zero(IntDot.F);
        for (int blk = 0; blk < blocks; blk++) {
            int at = first + blk, w = at * 2 * BLOCK;
            int j = qBase + blk * BLOCK;
            float da = ad[dBase + blk];
            ShortVector a0 = IntDot.act(aq, j), a1 = IntDot.act(aq, j + 16);
            acc0 = IntDot.lanes(w(wq, w), a0, w(wq, w + 16), a1).fma(IntDot.scale(wd[2 * at] * da), acc0);
            acc1 = IntDot.lanes(w(wq, w + 32), a0, w(wq, w + 48), a1).fma(IntDot.scale(wd[2 * at + 1] * da), acc1);
        }
        out[o] = IntDot.finish(acc0);
        out[o + 1] = IntDot.finish(acc1);
    }

    /** One row of the paired copy, as dotQ8 (256-bit form). */
    private float dotPaired(PairedRows p, int r, Q8Activations a, int aRow) {
        byte[] wq = p.q;
        float[] wd = p.d;
        short[] aq = a.q;
        float[] ad = a.d;
        int blocks = p.blocks;
        int qBase = aRow * cols, dBase = aRow * blocks;
        int first = (r >> 1) * blocks, h = r & 1;
        FloatVector acc = FloatVector.zero(IntDot.F);
        for (int blk = 0; blk < blocks; blk++) {
            int at = first + blk, w = at * 2 * BLOCK + h * BLOCK;
            int j = qBase + blk * BLOCK;
            acc = IntDot.lanes(w(wq, w), IntDot.act(aq, j), w(wq, w + 16), IntDot.act(aq, j + 16))
                    .fma(IntDot.scale(wd[2 * at + h] * ad[dBase + blk]), acc);
        }
        return IntDot.finish(acc);
    }

    /** IntDot.SL weights of the paired copy at index o, widened to shorts. */
    private static ShortVector w(byte[] wq, int o) {
        return IntDot.widen(ByteVector.fromArray(IntDot.B, wq, o));
    }

    /** out[o], out[o+1] = dotQ8(r), dotQ8(r+1), with the same operations per row as dotQ8 (256-bit form). */
    private void dotQ8Pair(int r, Q8Activations a, int aRow, float[] out, int o) {
        IntDot.checkActivations(this, a, aRow);
        long base0 = rowOffset(r), base1 = rowOffset(r + 1);
        int blocks = cols / BLOCK;
        short[] q = a.q;
        int qBase = aRow * cols, dBase = aRow * blocks;
        FloatVector acc0 = FloatVector.zero(IntDot.F), acc1 = FloatVector.zero(IntDot.F);
        long last = data.byteSize() - 1;
        int touched = 0;
        for (int blk = 0; blk < blocks; blk++) {
            long o0 = base0 + (long) blk * BLOCK_BYTES, o1 = base1 + (long) blk * BLOCK_BYTES;
            if (readAhead) { // the lines ahead in both rows, loaded early (see ReadAhead)
                touched += ReadAhead.touch(data, (blk & 1) == 0 ? o0 : o1, last);
            }
            int j = qBase + blk * BLOCK;
            float da = a.d[dBase + blk];
            ShortVector a0 = IntDot.act(q, j), a1 = IntDot.act(q, j + 16);
            acc0 = IntDot.lanes(w(o0 + 2), a0, w(o0 + 18), a1).fma(IntDot.scale(Float.float16ToFloat(data.get(SHORT_LE, o0)) * da), acc0);
            acc1 = IntDot.lanes(w(o1 + 2), a0, w(o1 + 18), a1).fma(IntDot.scale(Float.float16ToFloat(data.get(SHORT_LE, o1)) * da), acc1);
        }
        ReadAhead.consume(touched);
        out[o] = IntDot.finish(acc0);
        out[o + 1] = IntDot.finish(acc1);
    }

    /**
     * From 3 tokens: up to 8 on rows of 2048 columns or more, up to 4 on shorter ones. Below that
     * TokenPairGemm (two tokens a vector) served 3-13 tokens, and a step of 3 or 4 sequences decoded
     * slower than one: TinyLlama Q8_0 b4 23.5 against b1 29.3 system tok/s, stories110M b3 150 against
     * ~235. End to end, the tokens as batch-1 passes against TokenPairGemm, alternating
     * (docs/benchmarks.md, "Small batches of Q8_0 as batch-1 passes"): TinyLlama b4 +24 %, b8 +12 %;
     * stories110M b3 +50 %, b4 +7 %, b8 -10 %. Two tokens stay on the per-row kernels: there the
     * passes lost end to end (TinyLlama b2 21 against 30 tok/s; stories110M 204-246 against 255-285 in
     * session 14), though they won in cache (harness, one matrix, 1.15-1.36x).
     */
    @Override
    public int tokenRowsUpTo() {
        return cols >= 2048 ? 8 : 4;
    }

    /** Two tokens stay on the per-row kernels ({@link #tokenRowsUpTo}). */
    @Override
    public int tokenRowsFrom() {
        return 3;
    }

    @Override
    public void matmulRows(int start, int end, Q8Activations a, float[] out) {
        int batch = a.rows();
        for (int r = start; r < end; r++) {
            int t = 0;
            if (IntDot.WIDE) {
                for (; t + 1 < batch; t += 2) {
                    matmulRow2(r, a, t, out);
                }
            }
            for (; t < batch; t++) {
                out[t * rows + r] = dotQ8(r, a, t);
            }
        }
    }

    /**
     * Row r against activation rows t and t+1: each weight block is decoded once for two tokens. Two,
     * not four: a four-token pass exceeds C2's node budget (NodeCountInliningCutoff) and its vectors
     * get boxed (measured ~8x slower).
     */
    private void matmulRow2(int r, Q8Activations a, int t, float[] out) {
        long base = rowOffset(r);
        int blocks = cols / BLOCK;
        short[] q = a.q;
        float[] d = a.d;
        int q0 = t * cols, q1 = q0 + cols;
        int d0 = t * blocks, d1 = d0 + blocks;
        FloatVector acc0 = FloatVector.zero(IntDot.F), acc1 = FloatVector.zero(IntDot.F);
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * BLOCK_BYTES;
            int j = blk * BLOCK;
            float dw = Float.float16ToFloat(data.get(SHORT_LE, o));
            ShortVector w0 = w(o + 2), w1 = w(o + 18);
            acc0 = IntDot.lanes(w0, IntDot.act(q, q0 + j), w1, IntDot.act(q, q0 + j + 16)).fma(IntDot.scale(dw * d[d0 + blk]), acc0);
            acc1 = IntDot.lanes(w0, IntDot.act(q, q1 + j), w1, IntDot.act(q, q1 + j + 16)).fma(IntDot.scale(dw * d[d1 + blk]), acc1);
        }
        out[t * rows + r] = IntDot.finish(acc0);
        out[(t + 1) * rows + r] = IntDot.finish(acc1);
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int dstOff) {
        long base = rowOffset(row);
        int blocks = cols / BLOCK;
        boolean vector = Vec.ENABLED && !ColdStart.ROWS.cold(1);
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * BLOCK_BYTES;
            int dj = dstOff + blk * BLOCK;
            float d = Float.float16ToFloat(data.get(SHORT_LE, o));
            // q*d is exact in fp32 (8-bit times 11-bit significands), so both paths give identical values.
            if (vector) {
                for (int k = 0; k < BLOCK; k += B.length()) {
                    ByteVector q = ByteVector.fromMemorySegment(B, data, o + 2 + k, LE);
                    for (int p = 0; p < B_PARTS; p++) {
                        Vec.bytesToFloat(q, p).mul(d).intoArray(dst, dj + k + p * FL);
                    }
                }
            } else {
                for (int k = 0; k < BLOCK; k++) {
                    dst[dj + k] = data.get(ValueLayout.JAVA_BYTE, o + 2 + k) * d;
                }
            }
        }
    }
}
