package dev.tandem.kernels;

import static dev.tandem.kernels.Vec.SHORT_LE;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * What the K-quant formats share: super-blocks of 256 weights made of 16 sub-blocks of 16 values
 * (Q4_K and Q5_K use 8 sub-blocks of 32, given here as 16 pairs with equal scales), each weight
 * w = D * sc[s] * q - M * m[s] with integer q, sc and m and float D, M (M = 0 for the formats
 * without mins).
 *
 * <p>The dot quantizes x to {@link Q8_KActivations} (x ~ dx*qx per 256) and then a super-block is
 * dx * (D * sum_s sc[s] * sum_{i in s} q_i*qx_i - M * sum_s m[s] * bsum_s): the inner sums are exact
 * integers. Only {@link #scaledSum} (the first integer sum) has a vector path; everything else,
 * including every float operation, is the same arithmetic for both paths ({@link #blockValue}, which
 * the 256-bit row loops of Q4_K, Q5_K and Q6_K write out in place), so {@code dot} and
 * {@code dotScalar} agree bit for bit and the result does not depend on the vector width.
 *
 * <p>Each format supplies its scales ({@link #scales}), its super-scales ({@link #blockValue}), one
 * integer weight for the scalar path ({@link #quant}) and the vector integer sum. The integer sum
 * cannot overflow: |q| <= 63 (Q6_K's q-32 is in [-32, 31]), |qx| <= 127, |sc| <= 63 (Q6_K: 128),
 * so one super-block is at most 256 * 32 * 127 * 128 < 2^31.
 */
public abstract sealed class KQuantMatrix extends WeightMatrix
        permits Q2_KMatrix, Q3_KMatrix, Q4_KMatrix, Q5_KMatrix, Q6_KMatrix {
    static final int QK = WeightFormat.QK_K;
    static final int SUBS = QK / Q8_KActivations.SUB;
    private static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Bytes per super-block. */
    final int blockBytes;

    KQuantMatrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
        this.blockBytes = format().blockBytes();
        this.mins = format() == WeightFormat.Q2_K || format() == WeightFormat.Q4_K || format() == WeightFormat.Q5_K;
    }

    /**
     * {@link #hasMins}, a field: the shared twin row asks it of every format, and as a call to the
     * virtual format() C2 inlined it for the first format it saw and trapped when the next one came.
     */
    private final boolean mins;

    /**
     * The sub-block scales of the super-block at byte offset o: sc[s] and mins m[s] for s in [0, 16)
     * (m untouched by formats without mins).
     */
    abstract void scales(long o, int[] sc, int[] m);

    /** The integer weight q (mins not subtracted) at element e of the super-block at o. */
    abstract int quant(long o, int e);

    /** sum_e sc[e/16] * q_e * qx[qxOff + e] over the super-block at o, with the Vector API. */
    abstract int scaledSum(long o, int[] sc, byte[] qx, int qxOff);

    /** The super-block's scale D (at byte offset o). */
    abstract float superScale(long o);

    /** The super-block's min scale M; only formats with mins ({@link #hasMins}) have one. */
    float superMin(long o) {
        throw new UnsupportedOperationException(format() + " has no mins");
    }

    /** Whether weights are D*sc*q - M*m (true) or D*sc*q. */
    final boolean hasMins() {
        return mins;
    }

    /**
     * How many consecutive 16-value sub-blocks share one min: 2 where a min covers 32 values (Q4_K,
     * Q5_K), else 1. KQuantGemm sums the activations over such a run once per token.
     */
    final int minRun() {
        return format() == WeightFormat.Q4_K || format() == WeightFormat.Q5_K ? 2 : 1;
    }

    /**
     * dx * (D * scaledSum - M * minSum) (dx * (D * scaledSum) without mins): the float value of one
     * super-block's dot. {@link KQuantGemm} performs these operations lanewise and the 256-bit row
     * loops ({@code rowDotWide}) and Q2_K's and Q3_K's 512-bit ones ({@link ScaledQuants}) write them
     * out: keep them in step.
     */
    final float blockValue(long o, float dx, int scaledSum, int minSum) {
        boolean mins = hasMins();
        return blockValue(mins, superScale(o), mins ? superMin(o) : 0f, dx, scaledSum, minSum);
    }

    /** {@link #blockValue(long, float, int, int)} with the block's D and M (0 without mins) read once. */
    static float blockValue(boolean mins, float d, float m, float dx, int scaledSum, int minSum) {
        return mins ? dx * (d * scaledSum - m * minSum) : dx * (d * scaledSum);
    }

    /** The largest |sc * q| the format can encode (q as {@link #quant} gives it). */
    abstract int maxScaledQuant();

    /**
     * Elements per group whose products with 8-bit activations sum exactly in fp32: the largest power
     * of two g with g * maxScaledQuant * 127 <= 2^24 (Q6_K: 32, Q4_K: 128, Q2_K: 256).
     */
    final int exactGroup() {
        int g = QK;
        while ((long) g * maxScaledQuant() * 127 > 1 << 24) {
            g /= 2;
        }
        return g;
    }

    /**
     * Row {@code row} decoded for {@link KQuantGemm}: sc*q per element as floats (exact), super-block
     * blk's 256 into w[wOff + blk*blockStride..], per super-block D and M (0 without mins) into
     * dm[dmOff + 2*blk, +1], and the 16 sub-block mins into mins[mOff + 16*blk..] (0 without mins).
     */
    final void decodeScaled(int row, float[] w, int wOff, int blockStride, float[] dm, int dmOff, int[] mins, int mOff,
                            DecodeScratch scratch, boolean fromPaired) {
        if (fromPaired && decodeScaledPaired(row, w, wOff, blockStride, dm, dmOff, mins, mOff, scratch)) {
            return;
        }
        long base = rowOffset(row);
        int[] sc = scratch.sc;
        int[] m = scratch.m;
        int[] q = scratch.q;
        byte[] block = scratch.block;
        boolean withMins = hasMins();
        for (int blk = 0; blk < cols / QK; blk++) {
            long o = base + (long) blk * blockBytes;
            scales(o, sc, m);
            dm[dmOff + 2 * blk] = superScale(o);
            dm[dmOff + 2 * blk + 1] = withMins ? superMin(o) : 0f;
            System.arraycopy(m, 0, mins, mOff + blk * SUBS, SUBS);
            scaledQuants(o, sc, block, q, w, wOff + blk * blockStride);
        }
    }

    /**
     * {@link #decodeScaled} from the format's paired copy, where it has one and the copy is already
     * unpacked: the same values, without the bit unpacking and the checked segment reads. False (and
     * nothing written) where it does not apply.
     */
    boolean decodeScaledPaired(int row, float[] w, int wOff, int blockStride, float[] dm, int dmOff, int[] mins, int mOff,
                               DecodeScratch scratch) {
        return false;
    }

    /** {@link #decodeScaled}'s per-thread scratch: a panel decodes 16 rows, and each allocated these anew. */
    static final class DecodeScratch {
        final int[] sc = new int[SUBS];
        final int[] m = new int[SUBS];
        final int[] q = new int[QK];
        final byte[] block;
        /** A super-block's weights put back in element order from a paired copy's lane order. */
        final byte[] lanes = new byte[QK];

        DecodeScratch(KQuantMatrix w) {
            block = new byte[w.blockBytes];
        }
    }

    /**
     * w[wOff + e] = sc[e/16] * {@link #quant}(o, e) as floats, exactly, for the super-block at o
     * (block and q are scratch). Formats whose matmul runs often at small batches override it with
     * their vector unpacking where {@link IntDot#WIDE}: at one scalar quant per element the decode
     * cost ~800 ns per super-block on the AVX2 VM, as much as multiplying it by 16 tokens.
     */
    void scaledQuants(long o, int[] sc, byte[] block, int[] q, float[] w, int wOff) {
        quants(o, block, q);
        for (int e = 0; e < QK; e++) {
            w[wOff + e] = sc[e >>> 4] * q[e];
        }
    }

    /**
     * The largest batch this format's {@link #rowsTask} runs on its batch-1 kernels ({@link TokenRows},
     * where those serve; Q2_K's and Q3_K's {@link ScaledQuants} rows) rather than in KQuantGemm's token tiles
     * ({@link KQuantGemm#oneMin}); 0 none.
     */
    int tokenRowsUpTo() {
        return 0;
    }

    /** Whether {@link #scaledQuants} runs vector code here (the formats that override it: Q4_K and Q6_K on 256-bit vectors, Q2_K and Q3_K on 512). */
    boolean vectorDecode() {
        return false;
    }

    /** 16 exact small integers (|v| &lt; 2^15) as floats into w[at..at+16) (256-bit species). */
    static void shortsToFloats(ShortVector v, float[] w, int at) {
        ((FloatVector) v.convertShape(VectorOperators.S2F, FloatVector.SPECIES_256, 0)).intoArray(w, at);
        ((FloatVector) v.convertShape(VectorOperators.S2F, FloatVector.SPECIES_256, 1)).intoArray(w, at + 8);
    }

    /**
     * q[e] = {@link #quant}(o, e) for the super-block's 256 elements: its bytes copied once into
     * {@code block} (blockBytes long) and unpacked there, a fraction of the cost of 256 checked
     * segment reads.
     */
    final void quants(long o, byte[] block, int[] q) {
        MemorySegment.copy(data, ValueLayout.JAVA_BYTE, o, block, 0, blockBytes);
        quants(block, 0, q);
    }

    /*
     * The super-block read from a heap copy of its bytes, b[at .. at + blockBytes): the same values as
     * the segment forms above (KQuantBlockBytesTest), for the cold-start twin (KQuantTwin), which copies
     * each row once. There a checked segment read costs about a microsecond while the code is still
     * interpreted, and Q4_K's scales alone take ~40 of them a super-block.
     */

    /** {@link #quants(long, byte[], int[])} of the super-block at b[at..]. */
    abstract void quants(byte[] b, int at, int[] q);

    /** {@link #scales(long, int[], int[])} of the super-block at b[at..]. */
    abstract void scales(byte[] b, int at, int[] sc, int[] m);

    /** {@link #superScale(long)} of the super-block at b[at..]. */
    abstract float superScale(byte[] b, int at);

    /** {@link #superMin(long)} of the super-block at b[at..]; only formats with mins have one. */
    float superMin(byte[] b, int at) {
        throw new UnsupportedOperationException(format() + " has no mins");
    }

    /**
     * sum_s sc[s] * sum_(e in s) q[e] * qx[x + e] for the super-block at b[at..] (sc from {@link
     * #scales(byte[], int, int[], int[])}; bsums[bs..] the activations' 16-value sums, for formats
     * that fold an offset out of their quants): the cold twin's batch-1 integer sum. Each
     * format multiplies its quants as it unpacks them, where unpacking into q first and then taking
     * the dot cost ~1.5x the operations a weight, which a twin running as C1 code pays in full.
     */
    abstract int twinDot(byte[] b, int at, int[] sc, int[] qx, int x, int[] bsums, int bs);


    /** D*sc*q - M*m as the format's reference dequantization writes it (one rounding at most). */
    abstract float dequantized(long o, int e, int[] sc, int[] m);

    final float half(long at) {
        return Float.float16ToFloat(data.get(SHORT_LE, at));
    }

    final int u8(long at) {
        return data.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
    }

    /** The same integer sum as {@link #scaledSum}, one weight at a time. */
    final int scaledSumScalar(long o, int[] sc, byte[] qx, int qxOff) {
        int sum = 0;
        for (int s = 0; s < SUBS; s++) {
            int part = 0;
            for (int e = s * 16; e < s * 16 + 16; e++) {
                part += quant(o, e) * qx[qxOff + e];
            }
            sum += sc[s] * part;
        }
        return sum;
    }

    /**
     * Row's dot against activation blocks [blk0, blk0 + cols/256) of a: for each super-block, its
     * scales, the integer sum (vector or scalar), the min sum and the float value. Every format has
     * its own copy of this loop (see {@link #rowsTask} for why); they differ only in the types they
     * call.
     */
    abstract float rowDot(int row, Q8_KActivations a, int blk0, boolean vector);

    /** sum_s m[s] * bsums[from + s]: the activations' share of the sub-block mins. */
    static int minSum(int[] m, int[] bsums, int from) {
        int sum = 0;
        for (int s = 0; s < SUBS; s++) {
            sum += m[s] * bsums[from + s];
        }
        return sum;
    }

    @Override
    public float dot(int row, float[] x, int xOff) {
        Objects.checkIndex(row, rows);
        return rowDot(row, Q8_KActivations.quantize(x, xOff, cols), 0, Vec.ENABLED);
    }

    @Override
    public float dotScalar(int row, float[] x, int xOff) {
        Objects.checkIndex(row, rows);
        return rowDot(row, Q8_KActivations.quantize(x, xOff, cols), 0, false);
    }

    /** The fp32-activation dot (what a float-only device would compute): dequantized row times x, in order. */
    @Override
    public float dotScalarFloat(int row, float[] x, int xOff) {
        Objects.checkFromIndexSize(xOff, cols, x.length);
        float[] w = new float[cols];
        dequantizeRow(row, w, 0);
        float sum = 0f;
        for (int j = 0; j < cols; j++) {
            sum += w[j] * x[xOff + j];
        }
        return sum;
    }

    /** The activations are quantized once, then every row reads them; each row equals its dot bit for bit. */
    @Override
    Parallel.RangeBody matvecTask(float[] x, int xOff, float[] out, int outOff) {
        Objects.checkFromIndexSize(xOff, cols, x.length);
        Objects.checkFromIndexSize(outOff, rows, out.length);
        boolean cold = Vec.ENABLED && ColdStart.coldMatrix(1, (long) rows * cols);
        return task(Q8_KActivations.quantize(x, xOff, cols, !cold), 1, out, outOff, cold);
    }

    /**
     * Every token is quantized once; each output equals dot(r, x, b*cols) bit for bit, like decode, so
     * prefill and decode of the same token agree exactly. Each thread walks its rows with all tokens
     * per row, so a row's bytes are read from memory once and from cache for the other tokens.
     */
    @Override
    public void matmul(float[] x, float[] out, int batch) {
        if (batch < 0) {
            throw new IllegalArgumentException("batch must be >= 0, got " + batch);
        }
        Objects.checkFromIndexSize(0, (long) batch * cols, x.length);
        Objects.checkFromIndexSize(0, (long) batch * rows, out.length);
        if (batch == 0) {
            return;
        }
        boolean cold = Vec.ENABLED && ColdStart.coldMatrix(batch, (long) rows * cols);
        KQuantGemm.Tile tile = cold ? null : KQuantGemm.tile(this, batch);
        if (tile != null) {
            KQuantGemm.matmul(this, x, out, batch, tile);
            return;
        }
        Q8_KActivations a = Q8_KActivations.quantize(x, 0, batch * cols, !cold);
        Parallel.forRange(rows, 8, task(a, batch, out, 0, cold));
    }

    /** {@link #rowsTask}, or while the kernels are cold ({@link ColdStart}) the scalar twin. */
    private Parallel.RangeBody task(Q8_KActivations a, int batch, float[] out, int outOff, boolean cold) {
        return cold ? KQuantTwin.task(this, a, batch, out, outOff) : rowsTask(a, batch, out, outOff);
    }

    /**
     * The pool's task for rows [start, end) of a matvec (batch 1) or matmul (batch tokens):
     * out[outOff + b*rows + r] = rowDot(r, a, b * cols/256). Each format writes this lambda and
     * {@link #rowDot} in its own final class, so the JIT compiles one copy of the integer loop per
     * format, with every call in it bound to that format. With one shared copy, a file holding two
     * K-quants (Q4_K_M: Q4_K and Q6_K) made C2 recompile the shared loop for both types, and it then
     * stopped intrinsifying the vectors of one of them: 10-25x slower, measured.
     */
    abstract Parallel.RangeBody rowsTask(Q8_KActivations a, int batch, float[] out, int outOff);

    @Override
    public void dequantizeRow(int row, float[] dst, int dstOff) {
        long base = rowOffset(row);
        Objects.checkFromIndexSize(dstOff, cols, dst.length);
        int[] sc = new int[SUBS];
        int[] m = new int[SUBS];
        for (int blk = 0; blk < cols / QK; blk++) {
            long o = base + (long) blk * blockBytes;
            scales(o, sc, m);
            for (int e = 0; e < QK; e++) {
                dst[dstOff + blk * QK + e] = dequantized(o, e, sc, m);
            }
        }
    }

    /**
     * acc + scale * q * x lanewise, in int lanes: the weights' bytes q and the activations' bytes x
     * hold Vec.B.length() values of one 16-value sub-block. Static so that C2 inlines it into each
     * format's loop and the vectors stay in registers.
     */
    static IntVector accumulate(IntVector acc, ByteVector q, ByteVector x, int scale) {
        for (int p = 0; p < Vec.B_PARTS; p++) {
            IntVector qi = (IntVector) q.convertShape(VectorOperators.B2I, Vec.I, p);
            IntVector xi = (IntVector) x.convertShape(VectorOperators.B2I, Vec.I, p);
            acc = acc.add(qi.mul(xi).mul(scale));
        }
        return acc;
    }

    /**
     * The 16-bit product kernels ({@code scaledSumsWide} of Q4_K, Q5_K and Q6_K): 16 weights as shorts,
     * multiplied by 16 activations in 16-bit lanes, adjacent lanes paired into 8 int lanes, times the
     * sub-block's scale. Each pair's sum must be below 2^15 in magnitude (Q4_K 2*2*15*127, Q5_K
     * 2*2*31*127, Q6_K 2*63*127), which lets the pairing be {@link IntDot#pairsNarrow}'s three
     * instructions, which the kernels write out (see Q6_KMatrix.scaledSumsWide for why no helper).
     * The integer sum is exact, so it equals the scalar one whatever the order.
     *
     * <p>Their species: always 256-bit (16 shorts, 8 int lanes, 16 bytes loaded),
     * whatever tandem.vectorBits says, so the kernels compute the same sums at any setting. The row
     * loops run them only where {@link IntDot#WIDE} (256-bit vectors in hardware).
     */
    static final VectorSpecies<Integer> PAIRS = IntVector.SPECIES_256;
    static final VectorSpecies<Short> SHORTS = ShortVector.SPECIES_256;
    static final VectorSpecies<Byte> BYTES = ByteVector.SPECIES_128;

    /** 16 weight bytes at byte offset at, sign-extended to shorts (callers mask the bits they use). */
    final ShortVector wideBytes(long at) {
        return (ShortVector) ByteVector.fromMemorySegment(BYTES, data, at, Vec.LE).convertShape(VectorOperators.B2S, SHORTS, 0);
    }

    /** 32 weight bytes at byte offset at, sign-extended to 512-bit shorts ({@link ScaledQuants}' chunks). */
    final ShortVector wideBytes32(long at) {
        return (ShortVector) ByteVector.fromMemorySegment(ScaledQuants.B, data, at, Vec.LE).convertShape(VectorOperators.B2S, ScaledQuants.S, 0);
    }

    /** Bytes of the weights at byte offset at, Vec.B.length() of them. */
    final ByteVector bytes(long at) {
        return ByteVector.fromMemorySegment(Vec.B, data, at, Vec.LE);
    }

    /**
     * Each byte shifted right (as unsigned) by n and masked: bits [n, n+width) of every byte, for
     * masks that keep no bit above 7-n. x86 has no byte-lane shift (C2 widens and narrows to emulate
     * one), so the shift runs on 16-bit lanes; the bits that cross over from the neighbouring byte
     * land above the mask.
     */
    static ByteVector bits(ByteVector v, int n, int mask) {
        return v.reinterpretAsShorts().lanewise(VectorOperators.LSHR, n).reinterpretAsBytes().and((byte) mask);
    }

    /** Each byte shifted left by n, for bytes below 2^(8-n) (nothing crosses a byte), on 16-bit lanes as above. */
    static ByteVector shl(ByteVector v, int n) {
        return v.reinterpretAsShorts().lanewise(VectorOperators.LSHL, n).reinterpretAsBytes();
    }

    /**
     * The first 8 bytes of a Q4_K or Q5_K block at o (d, dmin, packed scale bytes 0-3) as one
     * little-endian long. The row loops read the block's 16-byte header as this and {@link #packed}
     * and unpack d, dmin, scales and mins from them: one segment read per field inlines an access
     * check apiece, enough nodes that C2 called blockValue out of line (a call per super-block,
     * every vector register spilled).
     */
    /**
     * Q4_K's and Q5_K's float part of a row, in blockValue's order: the sum over blocks of
     * d_a * (d * sums[2b] - dmin * sums[2b+1]), with d and dmin the f16 pair at each block's head.
     */
    final float scaledMinusMins(long base, int blocks, float[] ad, int blk0, int[] sums) {
        float sum = 0f;
        for (int blk = 0; blk < blocks; blk++) {
            long head = head(base + (long) blk * blockBytes);
            sum += ad[blk0 + blk] * (Float.float16ToFloat((short) head) * sums[2 * blk]
                    - Float.float16ToFloat((short) (head >>> 16)) * sums[2 * blk + 1]);
        }
        return sum;
    }

    final long head(long o) {
        return data.get(LONG_LE, o);
    }

    /** Packed scale bytes 4-11 of a Q4_K or Q5_K block at o as one little-endian long. */
    final long packed(long o) {
        return data.get(LONG_LE, o + 8);
    }

    /**
     * The eight six-bit scales of {@link #packedScale}, scale j in byte j: bytes 0-3 are the low six
     * bits of packed bytes 0-3; bytes 4-7 take their low nibble from packed bytes 8-11 and their top
     * two bits from the top bits of packed bytes 0-3 ({@link #head}, {@link #packed}).
     */
    static long packedScales(long head, long packed) {
        int a = (int) (head >>> 32), c = (int) (packed >>> 32);
        int high = (c & 0x0F0F0F0F) | ((a >>> 2) & 0x30303030);
        return (a & 0x3F3F3F3FL) | ((long) high << 32);
    }

    /** The eight six-bit mins of {@link #packedMin}, min j in byte j (the same unpacking, shifted by a nibble). */
    static long packedMins(long packed) {
        int b = (int) packed, c = (int) (packed >>> 32);
        int high = ((c >>> 4) & 0x0F0F0F0F) | ((b >>> 2) & 0x30303030);
        return (b & 0x3F3F3F3FL) | ((long) high << 32);
    }

    /**
     * The head of a Q4_K or Q5_K block at o as its paired copy holds it ({@link PairedRows}): the 8
     * scales into q[qAt..qAt+8) and the 8 mins into q[qAt+8..qAt+16), one byte each, and d, dmin as
     * floats into d[dAt], d[dAt+1].
     */
    final void copyPairedHead(long o, byte[] q, int qAt, float[] d, int dAt) {
        long head = head(o), packed = packed(o);
        long sc = packedScales(head, packed), m = packedMins(packed);
        for (int j = 0; j < 8; j++) {
            q[qAt + j] = (byte) (sc >>> (8 * j));
            q[qAt + 8 + j] = (byte) (m >>> (8 * j));
        }
        d[dAt] = Float.float16ToFloat((short) head);
        d[dAt + 1] = Float.float16ToFloat((short) (head >>> 16));
    }

    /** {@link #minSum} with min j of 32-value sub-block j in byte j of m ({@link #packedMins}): the same integer. */
    static int packedMinSum(long m, int[] bsums, int from) {
        int sum = 0;
        for (int j = 0; j < 8; j++) {
            sum += (int) (m >>> (8 * j) & 0xFF) * (bsums[from + 2 * j] + bsums[from + 2 * j + 1]);
        }
        return sum;
    }

    /**
     * {@link #packedMinSum}, the same integer, in one vector multiply: the 8 mins (byte j of m) widened
     * to ints times the activations' 32-value sums pairSums[from..from+8) ({@link Q8_KActivations#pairSums}).
     * A plain static method (no vector in or out): left out of line it costs a call, not boxing.
     */
    static int packedMinSumWide(long m, int[] pairSums, int from) {
        IntVector mins = (IntVector) LongVector.broadcast(LongVector.SPECIES_128, m).reinterpretAsBytes()
                .convertShape(VectorOperators.ZERO_EXTEND_B2I, PAIRS, 0);
        return mins.mul(IntVector.fromArray(PAIRS, pairSums, from)).reduceLanes(VectorOperators.ADD);
    }

    /** Six-bit scale j of the 12-byte packing Q4_K and Q5_K share (bytes at p): 8 scales, then 8 mins. */
    final int packedScale(long p, int j) {
        return j < 4 ? u8(p + j) & 63 : (u8(p + j + 4) & 0x0F) | ((u8(p + j - 4) >>> 6) << 4);
    }

    /** Six-bit min j of the same packing. */
    final int packedMin(long p, int j) {
        return j < 4 ? u8(p + j + 4) & 63 : (u8(p + j + 4) >>> 4) | ((u8(p + j) >>> 6) << 4);
    }

    /**
     * The 8 scales and 8 mins of the 12-byte packing at p (Q4_K's and Q5_K's), each given for both
     * 16-value halves of its 32 values: sc[2j] = sc[2j + 1] = scale j, m likewise.
     */
    final void packedScalesAndMins(long p, int[] sc, int[] m) {
        for (int j = 0; j < 8; j++) {
            sc[2 * j] = sc[2 * j + 1] = packedScale(p, j);
            m[2 * j] = m[2 * j + 1] = packedMin(p, j);
        }
    }

    /** {@link #packedScalesAndMins(long, int[], int[])} of the packing at b[p..]. */
    static void packedScalesAndMins(byte[] b, int p, int[] sc, int[] m) {
        for (int j = 0; j < 8; j++) {
            sc[2 * j] = sc[2 * j + 1] = packedScale(b, p, j);
            m[2 * j] = m[2 * j + 1] = packedMin(b, p, j);
        }
    }

    /** {@link #packedScale} of the packing at b[p..]. */
    static int packedScale(byte[] b, int p, int j) {
        return j < 4 ? b[p + j] & 63 : (b[p + j + 4] & 0x0F) | ((b[p + j - 4] & 0xFF) >>> 6 << 4);
    }

    /** {@link #packedMin} of the packing at b[p..]. */
    static int packedMin(byte[] b, int p, int j) {
        return j < 4 ? b[p + j + 4] & 63 : ((b[p + j + 4] & 0xFF) >>> 4) | ((b[p + j] & 0xFF) >>> 6 << 4);
    }
}
