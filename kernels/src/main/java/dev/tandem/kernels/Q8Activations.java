package dev.tandem.kernels;

import java.util.Objects;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Activations quantized for the integer-dot path of Q8_0 and Q4_0 matrices: each block of 32 floats
 * becomes 32 integers q in [-127, 127] and one float scale d = max|x| / 127, so x ~ q*d (as
 * llama.cpp's Q8_0 activations, but with an fp32 scale). A matvec or matmul quantizes its input once
 * and every weight row then multiplies integers, with one float scale per block pair.
 *
 * <p>Quantization is O(cols) per input row against O(rows*cols) for the products. A batch of rows
 * (prefill, batched decode) is quantized with vectors and across the worker threads
 * ({@link #quantizeBatch}): the block maximum is a max (exact in any order), and the rounding is the
 * same IEEE multiply, add and subtract lane by lane, so both forms give the same integers and scales
 * bit for bit (Q8ActivationsTest). Rounding is to nearest even by adding and subtracting 1.5*2^23
 * (exact IEEE operations for |v| <= 127.5, so the result does not depend on the JIT).
 *
 * <p>The integers are stored as shorts, the lane width the vector kernels multiply in, so no kernel
 * widens them again.
 */
public final class Q8Activations {
    public static final int BLOCK = 32;
    static final float ROUND_MAGIC = 12582912f; // 1.5 * 2^23

    final short[] q;
    final float[] d;
    private final int rows;
    private final int cols;
    /** Built on first use by a Q4_0 batch-1 dot; threads that race build identical ones. */
    private volatile Q4Activations q4;
    /** Built on first use by {@link TokenPairGemm}; threads that race build identical ones. */
    private volatile TokenPairGemm.Packed tokenPairs;

    private Q8Activations(int rows, int cols) {
        this.rows = rows;
        this.cols = cols;
        this.q = new short[rows * cols];
        this.d = new float[rows * cols / BLOCK];
    }

    /**
     * Quantizes rows contiguous input rows of cols values, starting at x[xOff].
     * @throws IllegalArgumentException when cols is not a positive multiple of 32
     */
    public static Q8Activations quantize(float[] x, int xOff, int rows, int cols) {
        checkShape(x, xOff, rows, cols);
        Q8Activations a = new Q8Activations(rows, cols);
        a.quantizeScalar(x, xOff, 0, a.d.length);
        return a;
    }

    /**
     * {@link #quantize}, the same bits, for a batch: vector blocks, rows split across the worker
     * threads. Called with {@code vector} false (a cold start's scalar twins) it is {@link #quantize}.
     * Quantizing 256 x 768 floats one block at a time took 284 us on one thread (a chain of 32
     * dependent max per block), and ran serially under two; the vector blocks take 68 us (Zen 5).
     * A batch-1 matvec's quantization runs here too: it is serial work on the calling thread while
     * the workers wait, ~4 % of a stories110M Q4_0 decode step's samples in its scalar form.
     */
    static Q8Activations quantizeBatch(float[] x, int xOff, int rows, int cols, boolean vector) {
        if (!vector || !VECTOR) {
            return quantize(x, xOff, rows, cols);
        }
        checkShape(x, xOff, rows, cols);
        Q8Activations a = new Q8Activations(rows, cols);
        int blocksPerRow = cols / BLOCK;
        Parallel.forRange(rows, Math.max(1, MIN_PARALLEL_BLOCKS / blocksPerRow),
                (start, end) -> a.quantizeVector(x, xOff, start * blocksPerRow, end * blocksPerRow));
        return a;
    }

    /** The shape checks both quantizers make: cols a positive multiple of BLOCK, rows >= 0, the input in x. */
    private static void checkShape(float[] x, int xOff, int rows, int cols) {
        if (cols <= 0 || cols % BLOCK != 0) {
            throw new IllegalArgumentException("Q8 activations need cols to be a positive multiple of " + BLOCK + ", got " + cols);
        }
        if (rows < 0) {
            throw new IllegalArgumentException("rows must be >= 0, got " + rows);
        }
        Objects.checkFromIndexSize(xOff, (long) rows * cols, x.length);
    }

    /** Vector blocks need float vectors that divide a block, and a short species of as many lanes. */
    private static final boolean VECTOR = Vec.ENABLED && Vec.FL >= 4 && BLOCK % Vec.FL == 0 && Vec.S_PARTS == 1;
    private static final int PARTS = BLOCK / Vec.FL;
    /** Blocks per worker below which one thread quantizes the whole batch (a hand-off costs more). */
    private static final int MIN_PARALLEL_BLOCKS = 1024;

    private void quantizeScalar(float[] x, int xOff, int firstBlock, int endBlock) {
        for (int blk = firstBlock; blk < endBlock; blk++) {
            int from = xOff + blk * BLOCK;
            float scale = scalarMax(x, from) / 127f;
            float id = scale == 0f ? 0f : 1f / scale;
            d[blk] = scale;
            for (int k = 0; k < BLOCK; k++) {
                q[blk * BLOCK + k] = (short) (int) ((x[from + k] * id + ROUND_MAGIC) - ROUND_MAGIC);
            }
        }
    }

    static final int INFINITY_BITS = Float.floatToRawIntBits(Float.POSITIVE_INFINITY);

    /** max |x| over a block from {@code from}, in {@link #quantizeScalar}'s order. */
    private static float scalarMax(float[] x, int from) {
        float amax = 0f;
        for (int k = 0; k < BLOCK; k++) {
            amax = Math.max(amax, Math.abs(x[from + k]));
        }
        return amax;
    }

    private void quantizeVector(float[] x, int xOff, int firstBlock, int endBlock) {
        for (int blk = firstBlock; blk < endBlock; blk++) {
            int from = xOff + blk * BLOCK;
            // The maximum of |x| as the maximum of its bits: for floats without a sign bit the int order
            // is the float order. FloatVector's max and MAX reduction ran their Java fallbacks at 512
            // bits (JFR, Zen 5: half of a Q4_0 decode step's quantization samples) and IntVector's
            // compile to vpmaxsd. A NaN's bits exceed every number's; such a block takes the scalar
            // maximum, which returns the block's first NaN as Math.max does.
            // No vector carried through a loop (C2 could not always bind such a vector's calls; see
            // Q8_KActivations): two vectors a block at 512 bits, else each vector reduced on its own.
            int maxBits = 0;
            if (PARTS == 2) {
                IntVector b0 = (IntVector) FloatVector.fromArray(Vec.F, x, from).abs().reinterpretAsInts();
                IntVector b1 = (IntVector) FloatVector.fromArray(Vec.F, x, from + Vec.FL).abs().reinterpretAsInts();
                maxBits = b0.max(b1).reduceLanes(VectorOperators.MAX);
            } else {
                for (int p = 0; p < PARTS; p++) {
                    IntVector bits = (IntVector) FloatVector.fromArray(Vec.F, x, from + p * Vec.FL).abs().reinterpretAsInts();
                    maxBits = Math.max(maxBits, bits.reduceLanes(VectorOperators.MAX));
                }
            }
            float amax = maxBits <= INFINITY_BITS ? Float.intBitsToFloat(maxBits) : scalarMax(x, from);
            float scale = amax / 127f;
            float id = scale == 0f ? 0f : 1f / scale;
            d[blk] = scale;
            for (int p = 0; p < PARTS; p++) {
                FloatVector v = FloatVector.fromArray(Vec.F, x, from + p * Vec.FL).mul(id).add(ROUND_MAGIC).sub(ROUND_MAGIC);
                ((ShortVector) v.convertShape(VectorOperators.F2S, Vec.S, 0)).intoArray(q, blk * BLOCK + p * Vec.FL);
            }
        }
    }

    /** These activations in the form Q4_0's batch-1 kernel multiplies (see {@link Q4Activations}). */
    Q4Activations q4() {
        Q4Activations f = q4;
        if (f == null) {
            q4 = f = Q4Activations.of(this);
        }
        return f;
    }

    /** These activations in token pairs, as {@link TokenPairGemm} multiplies them. */
    TokenPairGemm.Packed tokenPairs() {
        TokenPairGemm.Packed p = tokenPairs;
        if (p == null) {
            tokenPairs = p = TokenPairGemm.pack(this);
        }
        return p;
    }

    public int rows() { return rows; }

    public int cols() { return cols; }

    /** The integer of element j of row r, in [-127, 127]. */
    public int q(int r, int j) { return q[r * cols + j]; }

    /** The scale of block b of row r. */
    public float scale(int r, int b) { return d[r * (cols / BLOCK) + b]; }
}
