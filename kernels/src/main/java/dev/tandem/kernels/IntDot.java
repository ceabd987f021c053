package dev.tandem.kernels;

import java.util.Objects;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The integer-dot arithmetic shared by the Q8_0 and Q4_0 matrices (each decodes its own weight
 * blocks to small integers; everything after that is here), and the matvec/matmul drivers.
 *
 * <p><b>The arithmetic, fixed whatever the vector width.</b> A block of 32 weights w and activations
 * q (see {@link Q8Activations}) gives 8 exact integer lanes, lane k = the products of elements 2k,
 * 2k+1, 16+2k and 17+2k. Each lane is converted to float (exact: |lane| < 2^17) and fused-multiply-
 * added with the block pair's scale (d_w * d_a, one float multiply) into lane k of the row's float
 * accumulator, block after block. At the end the 8 lanes are summed in a fixed butterfly:
 * ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)). {@link #accumulateScalar} and {@link #finishScalar} are that
 * arithmetic in plain Java; the vector kernels perform the same IEEE operations lane by lane, so the
 * two are bit-identical.
 *
 * <p><b>The vector mapping.</b> The 16 products w[m]*q[m] + w[16+m]*q[16+m] (m &lt; 16) fit a short
 * (|w| &lt;= 128, |q| &lt;= 127: at most 32512), so they are computed in 16-bit lanes; reading the
 * shorts as ints and adding each int's sign-extended halves pairs lanes 2k and 2k+1 into lane k.
 * With 256-bit vectors a block is one short vector per half; with 128-bit ones each half is two, the
 * first giving lanes 0-3 and the second 4-7 (two accumulators, added first at the end, which is the
 * butterfly's first step). 512-bit machines run the 256-bit form: a 512-bit vector would hold two
 * blocks with different scales (not done: the development VM is AVX2 only, so it could not be measured).
 * The JDK 25 Vector API has no pmaddubsw/pmaddwd/vpdpbusd, so widening and pairing cost separate
 * instructions; see docs/benchmarks.md.
 */
final class IntDot {
    private IntDot() {}

    /** Vector integer path: needs 128-bit vectors at least (below that the scalar one runs). */
    static final boolean VECTOR = Vec.ENABLED && KernelConfig.vectorBits() >= 128;
    /** 16 shorts per vector (256-bit) or 8 (128-bit). */
    static final boolean WIDE = VECTOR && KernelConfig.vectorBits() >= 256;

    private static final VectorShape SHAPE = VectorShape.forBitSize(WIDE ? 256 : 128);
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, SHAPE);
    /** As many bytes as S has shorts (widened 1:1 by {@link #widen}). */
    static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(SHAPE.vectorBitSize() / 2));
    static final VectorSpecies<Float> F = VectorSpecies.of(float.class, SHAPE);
    /** As many ints as F has floats: the paired lanes before their conversion. */
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, SHAPE);
    static final int SL = S.length();

    private static final VectorShuffle<Float> SWAP4 = WIDE ? xorLanes(4) : null;
    private static final VectorShuffle<Float> SWAP2 = xorLanes(2);
    private static final VectorShuffle<Float> SWAP1 = xorLanes(1);

    /**
     * The shuffle taking lane i from lane i ^ mask. From an array, not {@code fromOp}: IntDot is first
     * initialised inside the cold first token, and the class of a lambda is spun at its first use (the
     * AOT cache cannot hold one here), as is the class of every Parallel body below that is a lambda.
     */
    private static VectorShuffle<Float> xorLanes(int mask) {
        int[] from = new int[F.length()];
        for (int i = 0; i < from.length; i++) {
            from[i] = i ^ mask;
        }
        return VectorShuffle.fromArray(F, from, 0);
    }

    /** Signed bytes to shorts, lane for lane. */
    static ShortVector widen(ByteVector b) {
        return (ShortVector) b.convertShape(VectorOperators.B2S, S, 0);
    }

    /** w0*a0 + w1*a1 in shorts, adjacent lanes paired into ints, as floats. */
    static FloatVector lanes(ShortVector w0, ShortVector a0, ShortVector w1, ShortVector a1) {
        IntVector p = w0.mul(a0).add(w1.mul(a1)).reinterpretAsInts();
        IntVector lo = p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16);
        return (FloatVector) lo.add(p.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
    }

    /**
     * Adjacent short lanes summed into ints, as {@link #lanes} pairs them, for sums whose adjacent pairs
     * are below 2^15 in magnitude (Q4_0's packed kernel: at most 2 * 3810): one instruction fewer. Read as an
     * int, a pair of shorts is p = 65536*hi + (lo mod 2^16); p + (p << 16) = 65536*(hi + lo) + (lo mod 2^16)
     * without overflow when |hi + lo| < 2^15, so its arithmetic shift by 16 is exactly hi + lo, the same integer.
     */
    static IntVector pairsNarrow(ShortVector sums) {
        IntVector p = sums.reinterpretAsInts();
        return p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
    }

    static ShortVector act(short[] q, int j) {
        return ShortVector.fromArray(S, q, j);
    }

    static FloatVector scale(float s) {
        return FloatVector.broadcast(F, s);
    }

    /** The butterfly over 8 lanes (256-bit accumulator). */
    static float finish(FloatVector acc) {
        FloatVector v = acc.add(acc.rearrange(SWAP4));
        v = v.add(v.rearrange(SWAP2));
        v = v.add(v.rearrange(SWAP1));
        return v.lane(0);
    }

    /** The butterfly over lanes 0-3 (lo) and 4-7 (hi) of two 128-bit accumulators. */
    static float finish(FloatVector lo, FloatVector hi) {
        FloatVector v = lo.add(hi);
        v = v.add(v.rearrange(SWAP2));
        v = v.add(v.rearrange(SWAP1));
        return v.lane(0);
    }

    /**
     * acc[k] = fma(lane k of w[p..p+32).q[j..j+32), scale, acc[k]) for the block's 8 lanes.
     * The weights are bytes (Q8_0's quants as stored, Q4_0's recentred nibbles): this is also the
     * kernels' cold-start twin (see {@link ColdStart}), and plain array reads keep it fast before C2.
     * Lane k sums the products at 2k, 2k+1, 16+2k, 17+2k. Written out lane by lane: constant offsets
     * from two bases instead of a loop's index arithmetic cut the twin's steady cost by ~19% (0.81 ->
     * 0.65 ns per multiply-add in a JIT-warm microbenchmark, best of 2000 timings) and its fresh-JVM
     * cost with it; the integer sums are exact, so the order of their terms cannot change a bit.
     */
    static void accumulateScalar(float[] acc, byte[] w, int p, short[] q, int j, float scale) {
        acc[0] = Math.fma((float) (w[p] * q[j] + w[p + 1] * q[j + 1] + w[p + 16] * q[j + 16] + w[p + 17] * q[j + 17]), scale, acc[0]);
        acc[1] = Math.fma((float) (w[p + 2] * q[j + 2] + w[p + 3] * q[j + 3] + w[p + 18] * q[j + 18] + w[p + 19] * q[j + 19]), scale, acc[1]);
        acc[2] = Math.fma((float) (w[p + 4] * q[j + 4] + w[p + 5] * q[j + 5] + w[p + 20] * q[j + 20] + w[p + 21] * q[j + 21]), scale, acc[2]);
        acc[3] = Math.fma((float) (w[p + 6] * q[j + 6] + w[p + 7] * q[j + 7] + w[p + 22] * q[j + 22] + w[p + 23] * q[j + 23]), scale, acc[3]);
        acc[4] = Math.fma((float) (w[p + 8] * q[j + 8] + w[p + 9] * q[j + 9] + w[p + 24] * q[j + 24] + w[p + 25] * q[j + 25]), scale, acc[4]);
        acc[5] = Math.fma((float) (w[p + 10] * q[j + 10] + w[p + 11] * q[j + 11] + w[p + 26] * q[j + 26] + w[p + 27] * q[j + 27]), scale, acc[5]);
        acc[6] = Math.fma((float) (w[p + 12] * q[j + 12] + w[p + 13] * q[j + 13] + w[p + 28] * q[j + 28] + w[p + 29] * q[j + 29]), scale, acc[6]);
        acc[7] = Math.fma((float) (w[p + 14] * q[j + 14] + w[p + 15] * q[j + 15] + w[p + 30] * q[j + 30] + w[p + 31] * q[j + 31]), scale, acc[7]);
    }

    /**
     * {@link #accumulateScalar} for a Q4_0 block read straight from its 16 packed bytes w[p..p+16):
     * element e &lt; 16 is the low nibble of byte e less 8, element 16 + e its high nibble less 8, so
     * each lane is the same exact integer as after unpacking. The cold-start twin of Q4_0 runs this:
     * unpacking into a block array first cost as much again in the interpreter (written without
     * helper calls for the same reason).
     */
    static void accumulateScalarNibbles(float[] acc, byte[] w, int p, short[] q, int j, float scale) {
        acc[0] = Math.fma((float) ((((w[p + 0] & 0x0F) - 8) * q[j + 0] + ((w[p + 1] & 0x0F) - 8) * q[j + 1]) + (((w[p + 0] >> 4 & 0x0F) - 8) * q[j + 16] + ((w[p + 1] >> 4 & 0x0F) - 8) * q[j + 17])), scale, acc[0]);
        acc[1] = Math.fma((float) ((((w[p + 2] & 0x0F) - 8) * q[j + 2] + ((w[p + 3] & 0x0F) - 8) * q[j + 3]) + (((w[p + 2] >> 4 & 0x0F) - 8) * q[j + 18] + ((w[p + 3] >> 4 & 0x0F) - 8) * q[j + 19])), scale, acc[1]);
        acc[2] = Math.fma((float) ((((w[p + 4] & 0x0F) - 8) * q[j + 4] + ((w[p + 5] & 0x0F) - 8) * q[j + 5]) + (((w[p + 4] >> 4 & 0x0F) - 8) * q[j + 20] + ((w[p + 5] >> 4 & 0x0F) - 8) * q[j + 21])), scale, acc[2]);
        acc[3] = Math.fma((float) ((((w[p + 6] & 0x0F) - 8) * q[j + 6] + ((w[p + 7] & 0x0F) - 8) * q[j + 7]) + (((w[p + 6] >> 4 & 0x0F) - 8) * q[j + 22] + ((w[p + 7] >> 4 & 0x0F) - 8) * q[j + 23])), scale, acc[3]);
        acc[4] = Math.fma((float) ((((w[p + 8] & 0x0F) - 8) * q[j + 8] + ((w[p + 9] & 0x0F) - 8) * q[j + 9]) + (((w[p + 8] >> 4 & 0x0F) - 8) * q[j + 24] + ((w[p + 9] >> 4 & 0x0F) - 8) * q[j + 25])), scale, acc[4]);
        acc[5] = Math.fma((float) ((((w[p + 10] & 0x0F) - 8) * q[j + 10] + ((w[p + 11] & 0x0F) - 8) * q[j + 11]) + (((w[p + 10] >> 4 & 0x0F) - 8) * q[j + 26] + ((w[p + 11] >> 4 & 0x0F) - 8) * q[j + 27])), scale, acc[5]);
        acc[6] = Math.fma((float) ((((w[p + 12] & 0x0F) - 8) * q[j + 12] + ((w[p + 13] & 0x0F) - 8) * q[j + 13]) + (((w[p + 12] >> 4 & 0x0F) - 8) * q[j + 28] + ((w[p + 13] >> 4 & 0x0F) - 8) * q[j + 29])), scale, acc[6]);
        acc[7] = Math.fma((float) ((((w[p + 14] & 0x0F) - 8) * q[j + 14] + ((w[p + 15] & 0x0F) - 8) * q[j + 15]) + (((w[p + 14] >> 4 & 0x0F) - 8) * q[j + 30] + ((w[p + 15] >> 4 & 0x0F) - 8) * q[j + 31])), scale, acc[7]);
    }

    /** The f16 at bytes[at], little-endian, as a float. */
    static float half(byte[] bytes, int at) {
        return Float.float16ToFloat((short) ((bytes[at] & 0xFF) | bytes[at + 1] << 8));
    }

    static float finishScalar(float[] acc) {
        return finishScalar(acc, 0);
    }

    /** {@link #finishScalar} of the 8 lanes at acc[off..off+8). */
    static float finishScalar(float[] acc, int off) {
        float t0 = acc[off] + acc[off + 4], t1 = acc[off + 1] + acc[off + 5];
        float t2 = acc[off + 2] + acc[off + 6], t3 = acc[off + 3] + acc[off + 7];
        return (t0 + t2) + (t1 + t3);
    }

    /** A weight format with an integer-dot path. */
    sealed interface Format permits Q8_0Matrix, Q4_0Matrix {
        int rows();

        int cols();

        /** The plain-Java form of dotQ8(row, a, aRow), bit-identical to it (the twin {@link ColdStart} runs). */
        float dotQ8Scalar(int row, Q8Activations a, int aRow);

        /** out[outOff + r] = dotQ8(r, a, aRow) for r in [start, end). */
        void dotRows(int start, int end, Q8Activations a, int aRow, float[] out, int outOff);

        /** out[t*rows + r] = dotQ8(r, a, t) for r in [start, end) and every activation row t. */
        void matmulRows(int start, int end, Q8Activations a, float[] out);

        /** The largest batch whose tokens run as batch-1 passes ({@link TokenRows}) by default. */
        int tokenRowsUpTo();

        /** The smallest batch that runs as batch-1 passes by default (2 unless a format measured otherwise). */
        default int tokenRowsFrom() {
            return 2;
        }

        /**
         * Row {@code row}'s unscaled integers, exactly, as floats into dst[dstOff..dstOff+cols) in
         * element order, and its block scales d_w into scales[sOff..sOff+cols/32).
         */
        void decodeInts(int row, float[] dst, int dstOff, float[] scales, int sOff);

        /**
         * Row {@code row}'s integers as shorts in element order into dst[0..cols), and its block scales
         * d_w into scales[0..cols/32) ({@link ShortRowGemm}). Needs {@link #WIDE}.
         */
        void decodeShorts(int row, short[] dst, float[] scales);

        /**
         * Row {@code row}'s integers as floats in {@link IntRowGemm}'s lane order into dst[0..cols)
         * (per block, vector m lane k holds element 2k, 2k+1, 16+2k, 17+2k for m = 0..3), and its block
         * scales d_w into scales[0..cols/32). Needs {@link #WIDE}.
         */
        void decodeLanes(int row, float[] dst, float[] scales);

        /** The holder of this matrix's {@link RowLaneGemm} copy. */
        RowLaneCopy.Lazy rowLanes();
    }

    static void checkActivations(Format w, Q8Activations a, int aRow) {
        if (a.cols() != w.cols()) {
            throw new IllegalArgumentException("activations of " + a.cols() + " columns for a matrix of " + w.cols());
        }
        Objects.checkIndex(aRow, a.rows());
    }

    /** A matvec's body over rows: the activations quantized once, then {@link Format#dotRows}. */
    static Parallel.RangeBody matvecTask(Format w, float[] x, int xOff, float[] out, int outOff) {
        int rows = w.rows(), cols = w.cols();
        Objects.checkFromIndexSize(xOff, cols, x.length);
        Objects.checkFromIndexSize(outOff, rows, out.length);
        boolean cold = VECTOR && ColdStart.coldMatrix(1, (long) rows * cols);
        Q8Activations a = Q8Activations.quantizeBatch(x, xOff, 1, cols, !cold);
        if (cold) {
            return new TwinRows(w, a, out, outOff);
        }
        return (start, end) -> w.dotRows(start, end, a, 0, out, outOff);
    }

    /** A cold matvec's rows: the scalar twin, row by row (a class, not a lambda: see {@link #xorLanes}). */
    private record TwinRows(Format w, Q8Activations a, float[] out, int outOff) implements Parallel.RangeBody {
        @Override
        public void run(int start, int end) {
            for (int r = start; r < end; r++) {
                out[outOff + r] = w.dotQ8Scalar(r, a, 0);
            }
        }
    }

    /** At least two rows a chunk (the row-pair kernels) and ~32 KiB of weights. */
    static int matvecMinChunk(long rowBytes) {
        return (int) Math.max(2, (32 * 1024) / rowBytes);
    }

    /** Whether ms all multiply integers against 8-bit activations of the same width (so one quantization serves them all). */
    static boolean sharesActivations(WeightMatrix[] ms) {
        if (ms.length < 2 || !KernelConfig.integerDot()) {
            return false;
        }
        for (WeightMatrix m : ms) {
            if (!(m instanceof Format) || m.cols() != ms[0].cols()) {
                return false;
            }
        }
        return true;
    }

    /**
     * {@link WeightMatrix#matmulEach} for integer-dot matrices: x quantized once, then the rows of all
     * matrices, numbered one after the other, split over the pool in one call. Each row runs what
     * {@link #matvec} (batch 1) or {@link #matmul} runs for it, so every value is theirs bit for bit.
     */
    static void matmulEach(WeightMatrix[] ms, float[] x, float[][] outs, int batch, long rowBytes) {
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be >= 1, got " + batch);
        }
        int cols = ms[0].cols();
        Objects.checkFromIndexSize(0, (long) batch * cols, x.length);
        int[] first = new int[ms.length + 1];
        for (int i = 0; i < ms.length; i++) {
            Objects.checkFromIndexSize(0, (long) batch * ms[i].rows(), outs[i].length);
            first[i + 1] = Math.addExact(first[i], ms[i].rows());
        }
        int minChunk = batch == 1 ? (int) Math.max(2, (32 * 1024) / rowBytes) : 4;
        // as matvec and matmul: the scalar twin while the family's budget lasts (one call of batch tokens)
        boolean cold = VECTOR && ColdStart.coldMatrix(batch, (long) first[ms.length] * cols);
        Q8Activations a = Q8Activations.quantizeBatch(x, 0, batch, cols, !cold);
        TwinGemm.Packed[] packed = cold && batch > 1 ? twinPacking(ms, a) : null;
        if (!cold && RowLaneGemm.serves(batch) && RowLaneGemm.matmulEach(formats(ms), a, outs)) { // rows in lanes
            return;
        }
        if (!cold && TokenVectorGemm.serves(batch)) { // one token vector a tile, on the one quantization
            TokenVectorGemm.matmulEach(formats(ms), a, outs);
            return;
        }
        if (!cold && batch > 1 && IntGemm.serves(batch, cols)) { // as matmul: the token tiles, on the one quantization and packing
            IntGemm.matmulEach(formats(ms), a, outs);
            return;
        }
        float[] lanes = !cold && IntRowGemm.serves(batch) ? IntRowGemm.activationLanes(a) : null;
        Parallel.forRange(first[ms.length], minChunk, new EachRows(ms, first, packed, cold, batch, a, lanes, outs));
    }

    /**
     * {@link #matmulEach}'s rows [start, end) of all matrices, numbered one after the other from
     * first[i] (a class, not a lambda: see {@link #xorLanes}).
     */
    private record EachRows(WeightMatrix[] ms, int[] first, TwinGemm.Packed[] packed, boolean cold, int batch,
                            Q8Activations a, float[] lanes, float[][] outs) implements Parallel.RangeBody {
        @Override
        public void run(int start, int end) {
            for (int i = 0; i < ms.length; i++) {
                int from = Math.max(start, first[i]) - first[i], to = Math.min(end, first[i + 1]) - first[i];
                if (from < to) {
                    Format w = (Format) ms[i];
                    if (packed != null) {
                        TwinGemm.rows(w, from, to, packed[i], batch, outs[i]);
                    } else if (cold) {
                        for (int r = from; r < to; r++) {
                            outs[i][r] = w.dotQ8Scalar(r, a, 0);
                        }
                    } else if (batch == 1) {
                        w.dotRows(from, to, a, 0, outs[i], 0);
                    } else {
                        matmulRows(w, from, to, a, lanes, outs[i]);
                    }
                }
            }
        }
    }

    /** Each matrix's packing of a for {@link TwinGemm}, made once per tokens-per-long (Q8_0 and Q4_0 differ). */
    private static TwinGemm.Packed[] twinPacking(WeightMatrix[] ms, Q8Activations a) {
        TwinGemm.Packed[] packed = new TwinGemm.Packed[ms.length];
        for (int i = 0; i < ms.length; i++) {
            for (int j = 0; j < i && packed[i] == null; j++) {
                if (TwinGemm.tokensPerLong((Format) ms[j]) == TwinGemm.tokensPerLong((Format) ms[i])) {
                    packed[i] = packed[j];
                }
            }
            if (packed[i] == null) {
                packed[i] = TwinGemm.pack((Format) ms[i], a);
            }
        }
        return packed;
    }

    private static Format[] formats(WeightMatrix[] ms) {
        Format[] ws = new Format[ms.length];
        for (int i = 0; i < ms.length; i++) {
            ws[i] = (Format) ms[i];
        }
        return ws;
    }

    static void matmul(Format w, float[] x, float[] out, int batch) {
        int rows = w.rows(), cols = w.cols();
        if (batch < 0) {
            throw new IllegalArgumentException("batch must be >= 0, got " + batch);
        }
        Objects.checkFromIndexSize(0, (long) batch * cols, x.length);
        Objects.checkFromIndexSize(0, (long) batch * rows, out.length);
        if (batch == 0) {
            return;
        }
        boolean cold = VECTOR && ColdStart.coldMatrix(batch, (long) rows * cols);
        Q8Activations a = Q8Activations.quantizeBatch(x, 0, batch, cols, !cold);
        if (cold) {
            if (batch == 1) {
                Parallel.forRange(rows, 4, (start, end) -> {
                    for (int r = start; r < end; r++) {
                        out[r] = w.dotQ8Scalar(r, a, 0);
                    }
                });
                return;
            }
            TwinGemm.Packed packed = TwinGemm.pack(w, a);
            Parallel.forRange(rows, 4, (start, end) -> TwinGemm.rows(w, start, end, packed, batch, out));
            return;
        }
        if (RowLaneGemm.serves(batch) && RowLaneGemm.matmul(w, a, out)) {
            return;
        }
        if (TokenVectorGemm.serves(batch)) {
            TokenVectorGemm.matmul(w, a, out);
            return;
        }
        if (IntGemm.serves(batch, cols)) {
            IntGemm.matmul(w, a, out);
            return;
        }
        float[] lanes = IntRowGemm.serves(batch) ? IntRowGemm.activationLanes(a) : null;
        Parallel.forRange(rows, 4, (start, end) -> matmulRows(w, start, end, a, lanes, out));
    }

    /**
     * Rows [start, end) of a matmul below IntGemm's batches: {@link IntRowGemm} (each row decoded once
     * for all tokens) when lanes holds its activation lanes, else the format's per-row kernel.
     */
    private static void matmulRows(Format w, int start, int end, Q8Activations a, float[] lanes, float[] out) {
        if (TokenRows.serves(a.rows(), w.tokenRowsFrom(), w.tokenRowsUpTo())) {
            TokenRows.rows(w, start, end, a, out);
        } else if (lanes != null) {
            IntRowGemm.rows(w, start, end, a, lanes, out);
        } else if (TokenPairGemm.serves(a.rows(), w.cols())) {
            TokenPairGemm.rows(w, start, end, a, out);
        } else if (ShortRowGemm.serves(a.rows(), w.cols())) {
            ShortRowGemm.rows(w, start, end, a, out);
        } else {
            w.matmulRows(start, end, a, out);
        }
    }
}
