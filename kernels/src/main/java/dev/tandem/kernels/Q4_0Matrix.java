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
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_0 weights: blocks of {f16 d; uint8 qs[16]} (18 bytes). Byte i holds element i in its low nibble
 * and element i+16 in its high nibble; value = (nibble-8)*d.
 *
 * <p>Two products, as for {@link Q8_0Matrix}: 8-bit activations and integer products (tandem.quantDot=int8,
 * the default; {@link #dotQ8}) or fp32 activations ({@link #dotFloat}).
 */
public final class Q4_0Matrix extends WeightMatrix implements IntDot.Format {
    static final int BLOCK = 32;
    static final int HALF = 16;
    static final int BLOCK_BYTES = 18;

    /** The batch-1 kernel's paired rows and the batched kernels' row lanes ({@link RowLaneGemm}), built on first use. */
    private final PairedRows.Lazy paired = new PairedRows.Lazy();
    private final RowLaneCopy.Lazy rowLanes = new RowLaneCopy.Lazy();

    Q4_0Matrix(MemorySegment data, int rows, int cols) { super(data, rows, cols); }

    @Override public WeightFormat format() { return WeightFormat.Q4_0; }

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
        // Two blocks per iteration into two accumulators, so the scale FMA's latency does not bound it.
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
     * The unscaled (nibble-8).x of the block at byte offset o, in lanes. Nibbles are split with lanewise
     * AND / unsigned shift on the bytes and recentred to [-8, 7] while still bytes, then widened:
     * low nibbles pair with x[0..16), high ones with x[16..32).
     */
    private FloatVector blockDot(long o, float[] x, int xj) {
        FloatVector s = FloatVector.zero(F);
        for (int k = 0; k < HALF; k += B.length()) {
            ByteVector qs = ByteVector.fromMemorySegment(B, data, o + 2 + k, LE);
            ByteVector lo = qs.and((byte) 0x0F).sub((byte) 8);
            ByteVector hi = highNibbles(qs).sub((byte) 8);
            for (int p = 0; p < B_PARTS; p++) {
                s = Vec.bytesToFloat(lo, p).fma(FloatVector.fromArray(F, x, xj + k + p * FL), s);
                s = Vec.bytesToFloat(hi, p).fma(FloatVector.fromArray(F, x, xj + HALF + k + p * FL), s);
            }
        }
        return s;
    }

    /**
     * Each byte's high nibble. x86 has no byte-lane shift (C2 widens and narrows to emulate one), so the
     * shift is done on 16-bit lanes and the bits that cross over from the neighbouring byte masked off.
     */
    private static ByteVector highNibbles(ByteVector qs) {
        return qs.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F);
    }

    /** In-block offsets in the order {@link #blockDot} multiplies them: low and high nibbles interleaved. */
    private static final int[] DOT_ORDER = dotOrder();

    private static int[] dotOrder() {
        int[] order = new int[BLOCK / FL];
        int i = 0;
        for (int k = 0; k < HALF; k += B.length()) {
            for (int p = 0; p < B_PARTS; p++) {
                order[i++] = k + p * FL;
                order[i++] = HALF + k + p * FL;
            }
        }
        return order;
    }

    @Override
    protected float[] batchScratch() {
        return new float[cols];
    }

    /** The row's recentred nibbles (exact as floats) and scales unpacked once, then {@link #dot}'s arithmetic per b. */
    @Override
    protected void batchDot(int row, float[] x, int b0, int b1, float[] out, float[] scratch) {
        float[] scales = new float[cols / BLOCK];
        decodeInts(row, scratch, 0, scales, 0);
        QuantBatchDot.dots(scratch, scales, DOT_ORDER, cols, x, b0, b1, out, rows, row);
    }

    @Override
    public void decodeInts(int row, float[] dst, int dstOff, float[] scales, int sOff) {
        long base = rowOffset(row);
        int blocks = cols / BLOCK;
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * BLOCK_BYTES;
            scales[sOff + blk] = Float.float16ToFloat(data.get(SHORT_LE, o));
            int dj = dstOff + blk * BLOCK;
            if (Vec.ENABLED) {
                for (int k = 0; k < HALF; k += B.length()) {
                    ByteVector qs = ByteVector.fromMemorySegment(B, data, o + 2 + k, LE);
                    ByteVector lo = qs.and((byte) 0x0F).sub((byte) 8);
                    ByteVector hi = highNibbles(qs).sub((byte) 8);
                    for (int p = 0; p < B_PARTS; p++) {
                        Vec.bytesToFloat(lo, p).intoArray(dst, dj + k + p * FL);
                        Vec.bytesToFloat(hi, p).intoArray(dst, dj + HALF + k + p * FL);
                    }
                }
            } else {
                for (int k = 0; k < HALF; k++) {
                    int b = data.get(ValueLayout.JAVA_BYTE, o + 2 + k) & 0xFF;
                    dst[dj + k] = (b & 0x0F) - 8;
                    dst[dj + HALF + k] = (b >>> 4) - 8;
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
            for (int k = 0; k < HALF; k++) {
                int b = data.get(ValueLayout.JAVA_BYTE, o + 2 + k) & 0xFF;
                s += ((b & 0x0F) - 8) * x[xj + k] + ((b >>> 4) - 8) * x[xj + HALF + k];
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
        Q4Activations f = a.q4();
        return dotPacked(data, rowOffset(row), cols / BLOCK, f.acts[aRow], f.offsets[aRow], f.scales[aRow]);
    }

    /**
     * {@link #dotQ8}'s vector path on the row at byte offset base: the packed bytes multiply
     * Q4Activations' form of one activation row (acts, offsets, scales d), with no nibble masking or
     * recentring per block. Static, with everything it reads passed in: the per-row setup stays out of
     * {@link #dotRows}' loop and C2 keeps the block loop's values in registers.
     */
    private static float dotPacked(MemorySegment data, long base, int blocks, short[] p, int[] offsets, float[] d) {
        if (IntDot.WIDE) {
            FloatVector acc = FloatVector.zero(IntDot.F);
            for (int blk = 0; blk < blocks; blk++) {
                long o = base + (long) blk * BLOCK_BYTES;
                int j = blk * BLOCK;
                FloatVector s = IntDot.scale(Float.float16ToFloat(data.get(SHORT_LE, o)) * d[blk]);
                acc = packedLanes(nibbles(data, o + 2), IntDot.act(p, j), IntDot.act(p, j + HALF), offsets, blk * 8).fma(s, acc);
            }
            return IntDot.finish(acc);
        }
        FloatVector lo = FloatVector.zero(IntDot.F), hi = FloatVector.zero(IntDot.F);
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * BLOCK_BYTES;
            int j = blk * BLOCK, c = blk * 8;
            FloatVector s = IntDot.scale(Float.float16ToFloat(data.get(SHORT_LE, o)) * d[blk]);
            lo = packedLanes(nibbles(data, o + 2), IntDot.act(p, j), IntDot.act(p, j + HALF), offsets, c).fma(s, lo);
            hi = packedLanes(nibbles(data, o + 10), IntDot.act(p, j + 8), IntDot.act(p, j + HALF + 8), offsets, c + 4).fma(s, hi);
        }
        return IntDot.finish(lo, hi);
    }

    /**
     * IntDot's lanes of a block from its packed bytes n (zero-extended) and Q4Activations' q and high:
     * n*q[m] + (n >> 4)*high[m] per short lane, adjacent lanes paired, offsets[at..] subtracted.
     */
    private static FloatVector packedLanes(ShortVector n, ShortVector q, ShortVector high, int[] offsets, int at) {
        ShortVector sums = n.mul(q).add(n.lanewise(VectorOperators.LSHR, 4).mul(high));
        return (FloatVector) IntDot.pairsNarrow(sums).sub(IntVector.fromArray(IntDot.I, offsets, at))
                .convert(VectorOperators.I2F, 0);
    }

    /** IntDot.SL packed bytes at offset o as shorts, zero-extended (so the high nibble needs no mask). */
    private ShortVector nibbles(long o) {
        return nibbles(data, o);
    }

    private static ShortVector nibbles(MemorySegment data, long o) {
        return (ShortVector) ByteVector.fromMemorySegment(IntDot.B, data, o, LE)
                .convertShape(VectorOperators.ZERO_EXTEND_B2S, IntDot.S, 0);
    }

    /** Low nibbles recentred to [-8, 7]. */
    private static ShortVector low(ShortVector n) {
        return n.and((short) 0x0F).sub((short) 8);
    }

    /** High nibbles (of zero-extended bytes) recentred to [-8, 7]. */
    private static ShortVector high(ShortVector n) {
        return n.lanewise(VectorOperators.LSHR, 4).sub((short) 8);
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
            IntDot.accumulateScalarNibbles(acc, bytes, o + 2, a.q, aRow * cols + blk * BLOCK, scale);
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
            ShortVector n = nibbles(o + 2);
            low(n).intoArray(dst, blk * BLOCK);
            high(n).intoArray(dst, blk * BLOCK + HALF);
        }
    }

    @Override
    public void decodeLanes(int row, float[] dst, float[] scales) {
        long base = rowOffset(row);
        int blocks = cols / BLOCK;
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * BLOCK_BYTES;
            scales[blk] = Float.float16ToFloat(data.get(SHORT_LE, o));
            ShortVector n = nibbles(o + 2);
            IntRowGemm.evenOdd(low(n), dst, blk * BLOCK);
            IntRowGemm.evenOdd(high(n), dst, blk * BLOCK + HALF);
        }
    }

    @Override
    public void dotRows(int start, int end, Q8Activations a, int aRow, float[] out, int outOff) {
        // One row per pass: a two-row pass (as Q8_0 has) exceeded C2's node budget with the nibble
        // unpacking (NodeCountInliningCutoff), and measured no faster with the packed kernel.
        if (start >= end) {
            return;
        }
        if (!IntDot.VECTOR) {
            for (int r = start; r < end; r++) {
                out[outOff + r] = dotQ8(r, a, aRow);
            }
            return;
        }
        IntDot.checkActivations(this, a, aRow);
        Q4Activations f = a.q4();
        short[] p = f.acts[aRow];
        int[] offsets = f.offsets[aRow];
        float[] d = f.scales[aRow];
        int blocks = cols / BLOCK;
        PairedRows pr = IntDot.WIDE ? paired.get(() -> PairedRows.of(data, rows, blocks, BLOCK_BYTES, HALF,
                PairLanes.ENABLED ? PairedRows.segmentFor(blocks, segmentMaxBlocks) : blocks)) : null;
        if (pr != null && PairLanes.ENABLED) {
            Q4Activations.Doubled twice = f.paired();
            short[] p2 = twice.acts()[aRow];
            int[] offsets2 = twice.offsets()[aRow];
            if (pr.segments() == 1) {
                PairedRows.forRows(start, end, (r, n) -> {
                    if (n == 2) {
                        dotPairLanes(pr, r, p2, offsets2, d, out, outOff + r);
                    } else {
                        out[outOff + r] = dotPaired(pr, r, p, offsets, d);
                    }
                });
                return;
            }
            int r = start;
            if ((r & 1) == 1 && r < end) {
                out[outOff + r] = dotPaired(pr, r, p, offsets, d);
                r++;
            }
            int pairsEnd = r + (end - r) / 2 * 2;
            dotPairsBySegment(pr, r, pairsEnd, p2, offsets2, d, out, outOff);
            if (pairsEnd < end) {
                out[outOff + pairsEnd] = dotPaired(pr, pairsEnd, p, offsets, d);
            }
            return;
        }
        if (pr != null) {
            PairedRows.forRows(start, end, (r, n) -> {
                if (n == 2) {
                    dotPairPaired(pr, r, p, offsets, d, out, outOff + r);
                } else {
                    out[outOff + r] = dotPaired(pr, r, p, offsets, d);
                }
            });
            return;
        }
        for (int r = start; r < end; r++) {
            out[outOff + r] = dotPacked(data, rowOffset(r), blocks, p, offsets, d);
        }
    }

    /** Rows r, r+1 (r even) of the paired copy into out[o], out[o+1]: one 32-byte run per block. */
    private static void dotPairPaired(PairedRows pr, int r, short[] p, int[] offsets, float[] d, float[] out, int o) {
        byte[] wq = pr.q;
        float[] wd = pr.d;
        FloatVector acc0 = FloatVector.zero(IntDot.F), acc1 = FloatVector.zero(IntDot.F);
        for (int s = 0; s < pr.segments(); s++) {
            int first = pr.first(r >> 1, s);
            for (int blk = pr.segmentStart(s); blk < pr.segmentEnd(s); blk++) {
                int at = first + blk, w = at * BLOCK;
                int j = blk * BLOCK;
                float da = d[blk];
                ShortVector q = IntDot.act(p, j), high = IntDot.act(p, j + HALF);
                IntVector off = IntVector.fromArray(IntDot.I, offsets, blk * 8);
                acc0 = pairedLanes(nibbles(wq, w), q, high, off).fma(IntDot.scale(wd[2 * at] * da), acc0);
                acc1 = pairedLanes(nibbles(wq, w + HALF), q, high, off).fma(IntDot.scale(wd[2 * at + 1] * da), acc1);
            }
        }
        out[o] = IntDot.finish(acc0);
        out[o + 1] = IntDot.finish(acc1);
    }

    /** Blocks per column segment at most, in the 512-bit paired copy (see {@link #dotPairsBySegment}). */
    static final int SEGMENT_MAX_BLOCKS = 96;
    /** {@link #SEGMENT_MAX_BLOCKS}, or what a test sets before the copy is made. */
    private int segmentMaxBlocks = SEGMENT_MAX_BLOCKS;

    /** Tests: column segments of at most maxBlocks in this matrix's paired copy (before its first product). */
    Q4_0Matrix segmentedAt(int maxBlocks) {
        segmentMaxBlocks = maxBlocks;
        return this;
    }

    /**
     * Rows r, r+1 (r even) of a paired copy in one segment, as {@link #pairSegment} (the same arithmetic)
     * inlined: for rows that fit L1 the out-of-line call and the accumulator's trip through memory cost
     * ~20 % (TinyLlama's 2048-column matrices: 150 against 177 us a matvec, one thread).
     */
    private static void dotPairLanes(PairedRows pr, int r, short[] p2, int[] offsets2, float[] d, float[] out, int o) {
        byte[] wq = pr.q;
        float[] wd = pr.d;
        int first = (r >> 1) * pr.blocks;
        FloatVector acc = FloatVector.zero(PairLanes.F);
        for (int blk = 0; blk < pr.blocks; blk++) {
            int at = first + blk, j = blk * 2 * BLOCK;
            FloatVector lanes = pairLanes(wq, at * BLOCK, ShortVector.fromArray(PairLanes.S, p2, j),
                    ShortVector.fromArray(PairLanes.S, p2, j + 2 * HALF), IntVector.fromArray(PairLanes.I, offsets2, blk * 16));
            acc = lanes.fma(PairLanes.scalesTimes(wd[2 * at], wd[2 * at + 1], d[blk]), acc);
        }
        PairLanes.finish(acc, out, o);
    }

    /** Row pairs whose accumulators a segment pass keeps (4 KiB): their weights of a segment are one sequential run. */
    private static final int SEGMENT_PAIRS = 64;

    /**
     * Row pairs [r0, r1) (r0 even), {@link #SEGMENT_PAIRS} at a time, one column segment at a time, each
     * pair's accumulator kept in memory between segments: the same lanes, scales and fmas in the same
     * block order as one pass over the row. Why: a pass reads 192 bytes of doubled activations and
     * offsets per block, 34 KiB for a 5632-column row (TinyLlama's down projection), which with the
     * weights streaming through no longer stays in Zen 5's 48 KiB L1; such rows ran at 10-15 GMAC/s
     * a core against 26-30 for 2048 columns (docs/benchmarks.md, "Long rows").
     */
    private static void dotPairsBySegment(PairedRows pr, int r0, int r1, short[] p2, int[] offsets2, float[] d,
                                          float[] out, int outOff) {
        int fl = PairLanes.F.length();
        float[] accs = new float[Math.min(SEGMENT_PAIRS, (r1 - r0) / 2) * fl];
        for (int g0 = r0 >> 1, g1 = r1 >> 1; g0 < g1; g0 += SEGMENT_PAIRS) {
            int pairs = Math.min(SEGMENT_PAIRS, g1 - g0);
            java.util.Arrays.fill(accs, 0f);
            for (int s = 0; s < pr.segments(); s++) {
                for (int i = 0; i < pairs; i++) {
                    pairSegment(pr.q, pr.d, pr.first(g0 + i, s), pr.segmentStart(s), pr.segmentEnd(s), p2, offsets2, d,
                            accs, i * fl);
                }
            }
            for (int i = 0; i < pairs; i++) {
                PairLanes.finish(FloatVector.fromArray(PairLanes.F, accs, i * fl), out, outOff + 2 * (g0 + i));
            }
        }
    }

    /**
     * One pair's blocks [b0, b1) of a segment (block blk at index first + blk of the paired copy wq, wd)
     * added to its accumulator at accs[accOff], in {@link #dotPairPaired}'s
     * arithmetic in {@link PairLanes}' 512-bit form: a block's 32-byte run (both rows) is one vector of
     * shorts against the doubled activations p2, offsets2 ({@link Q4Activations#paired}), row 2p's
     * lanes in 0-7 and row 2p+1's in 8-15: the same integers, scales and fmas per lane. (Two pairs a
     * pass, two independent fma chains, measured no faster: the chain's latency does not bound it.)
     * Compiled on its own (kernels.compile-commands: dontinline) with arrays and ints only: inlined
     * into dotRows's lambda with both the segmented and the whole-row callers hot, C2 left its vector
     * helpers out of line and TinyLlama decode ran at half speed.
     */
    private static void pairSegment(byte[] wq, float[] wd, int first, int b0, int b1, short[] p2, int[] offsets2, float[] d,
                                    float[] accs, int accOff) {
        FloatVector acc = FloatVector.fromArray(PairLanes.F, accs, accOff);
        for (int blk = b0; blk < b1; blk++) {
            int at = first + blk, j = blk * 2 * BLOCK;
            FloatVector lanes = pairLanes(wq, at * BLOCK, ShortVector.fromArray(PairLanes.S, p2, j),
                    ShortVector.fromArray(PairLanes.S, p2, j + 2 * HALF), IntVector.fromArray(PairLanes.I, offsets2, blk * 16));
            acc = lanes.fma(PairLanes.scalesTimes(wd[2 * at], wd[2 * at + 1], d[blk]), acc);
        }
        acc.intoArray(accs, accOff);
    }

    /** A pair's block run wq[w..w+32) (both rows) as {@link #pairedLanes} forms each row's lanes, in 512 bits. */
    private static FloatVector pairLanes(byte[] wq, int w, ShortVector q, ShortVector high, IntVector offsets) {
        ShortVector n = (ShortVector) ByteVector.fromArray(PairLanes.B, wq, w).convertShape(VectorOperators.ZERO_EXTEND_B2S, PairLanes.S, 0);
        ShortVector sums = n.mul(q).add(n.lanewise(VectorOperators.LSHR, 4).mul(high));
        return (FloatVector) IntDot.pairsNarrow(sums).sub(offsets).convert(VectorOperators.I2F, 0);
    }

    /** One row of the paired copy, as dotQ8 (256-bit form). */
    private static float dotPaired(PairedRows pr, int r, short[] p, int[] offsets, float[] d) {
        byte[] wq = pr.q;
        float[] wd = pr.d;
        int h = r & 1;
        FloatVector acc = FloatVector.zero(IntDot.F);
        for (int s = 0; s < pr.segments(); s++) {
            int first = pr.first(r >> 1, s);
            for (int blk = pr.segmentStart(s); blk < pr.segmentEnd(s); blk++) {
                int at = first + blk;
                int j = blk * BLOCK;
                acc = pairedLanes(nibbles(wq, at * BLOCK + h * HALF), IntDot.act(p, j), IntDot.act(p, j + HALF),
                        IntVector.fromArray(IntDot.I, offsets, blk * 8)).fma(IntDot.scale(wd[2 * at + h] * d[blk]), acc);
            }
        }
        return IntDot.finish(acc);
    }

    /** {@link #packedLanes} with the block's offsets already loaded (shared by a row pair). */
    private static FloatVector pairedLanes(ShortVector n, ShortVector q, ShortVector high, IntVector offsets) {
        ShortVector sums = n.mul(q).add(n.lanewise(VectorOperators.LSHR, 4).mul(high));
        return (FloatVector) IntDot.pairsNarrow(sums).sub(offsets).convert(VectorOperators.I2F, 0);
    }

    /** IntDot.SL packed bytes of the paired copy at index o as shorts, zero-extended. */
    private static ShortVector nibbles(byte[] wq, int o) {
        return (ShortVector) ByteVector.fromArray(IntDot.B, wq, o).convertShape(VectorOperators.ZERO_EXTEND_B2S, IntDot.S, 0);
    }

    /** Every batch below TokenVectorGemm's (harness and end-to-end figures: TokenRows' commit, docs/benchmarks.md). */
    @Override
    public int tokenRowsUpTo() {
        return 13;
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
        // dotQ8's packed kernel per token, on one load and shift of the packed bytes.
        Q4Activations f = a.q4();
        short[] p0 = f.acts[t], p1 = f.acts[t + 1];
        int[] c0 = f.offsets[t], c1 = f.offsets[t + 1];
        float[] d0 = f.scales[t], d1 = f.scales[t + 1];
        FloatVector acc0 = FloatVector.zero(IntDot.F), acc1 = FloatVector.zero(IntDot.F);
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * BLOCK_BYTES;
            int j = blk * BLOCK;
            float dw = Float.float16ToFloat(data.get(SHORT_LE, o));
            ShortVector n = nibbles(o + 2);
            acc0 = packedLanes(n, IntDot.act(p0, j), IntDot.act(p0, j + HALF), c0, blk * 8).fma(IntDot.scale(dw * d0[blk]), acc0);
            acc1 = packedLanes(n, IntDot.act(p1, j), IntDot.act(p1, j + HALF), c1, blk * 8).fma(IntDot.scale(dw * d1[blk]), acc1);
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
            // (nibble-8)*d is exact in fp32, so both paths give identical values.
            if (vector) {
                for (int k = 0; k < HALF; k += B.length()) {
                    ByteVector qs = ByteVector.fromMemorySegment(B, data, o + 2 + k, LE);
                    ByteVector lo = qs.and((byte) 0x0F).sub((byte) 8);
                    ByteVector hi = highNibbles(qs).sub((byte) 8);
                    for (int p = 0; p < B_PARTS; p++) {
                        Vec.bytesToFloat(lo, p).mul(d).intoArray(dst, dj + k + p * FL);
                        Vec.bytesToFloat(hi, p).mul(d).intoArray(dst, dj + HALF + k + p * FL);
                    }
                }
            } else {
                for (int k = 0; k < HALF; k++) {
                    int b = data.get(ValueLayout.JAVA_BYTE, o + 2 + k) & 0xFF;
                    dst[dj + k] = ((b & 0x0F) - 8) * d;
                    dst[dj + HALF + k] = ((b >>> 4) - 8) * d;
                }
            }
        }
    }
}
