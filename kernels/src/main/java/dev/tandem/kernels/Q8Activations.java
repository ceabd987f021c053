package dev.tandem.kernels;

import java.util.Objects;

/**
 * Activations quantized for the integer-dot path of Q8_0 and Q4_0 matrices: each block of 32 floats
 * becomes 32 integers q in [-127, 127] and one float scale d = max|x| / 127, so x ~ q*d (as
 * llama.cpp's Q8_0 activations, but with an fp32 scale). A matvec or matmul quantizes its input once
 * and every weight row then multiplies integers, with one float scale per block pair.
 *
 * <p>Quantization is scalar: it is O(cols) per input row against O(rows*cols) for the products, and
 * one code path keeps the vector and scalar dots reading identical integers. Rounding is to nearest
 * even by adding and subtracting 1.5*2^23 (exact IEEE operations for |v| <= 127.5, so the result does
 * not depend on the JIT).
 *
 * <p>The integers are stored as shorts, the lane width the vector kernels multiply in, so no kernel
 * widens them again.
 */
public final class Q8Activations {
    public static final int BLOCK = 32;
    private static final float ROUND_MAGIC = 12582912f; // 1.5 * 2^23

    final short[] q;
    final float[] d;
    private final int rows;
    private final int cols;
    /** Built on first use by a Q4_0 batch-1 dot; threads that race build identical ones. */
    private volatile Q4Activations q4;

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
        if (cols <= 0 || cols % BLOCK != 0) {
            throw new IllegalArgumentException("Q8 activations need cols to be a positive multiple of " + BLOCK + ", got " + cols);
        }
        if (rows < 0) {
            throw new IllegalArgumentException("rows must be >= 0, got " + rows);
        }
        Objects.checkFromIndexSize(xOff, (long) rows * cols, x.length);
        Q8Activations a = new Q8Activations(rows, cols);
        for (int blk = 0; blk < a.d.length; blk++) {
            int from = xOff + blk * BLOCK;
            float amax = 0f;
            for (int k = 0; k < BLOCK; k++) {
                amax = Math.max(amax, Math.abs(x[from + k]));
            }
            float d = amax / 127f;
            float id = d == 0f ? 0f : 1f / d;
            a.d[blk] = d;
            for (int k = 0; k < BLOCK; k++) {
                a.q[blk * BLOCK + k] = (short) (int) ((x[from + k] * id + ROUND_MAGIC) - ROUND_MAGIC);
            }
        }
        return a;
    }

    /** These activations in the form Q4_0's batch-1 kernel multiplies (see {@link Q4Activations}). */
    Q4Activations q4() {
        Q4Activations f = q4;
        if (f == null) {
            q4 = f = Q4Activations.of(this);
        }
        return f;
    }

    public int rows() { return rows; }

    public int cols() { return cols; }

    /** The integer of element j of row r, in [-127, 127]. */
    public int q(int r, int j) { return q[r * cols + j]; }

    /** The scale of block b of row r. */
    public float scale(int r, int b) { return d[r * (cols / BLOCK) + b]; }
}
