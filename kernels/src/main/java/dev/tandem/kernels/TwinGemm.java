package dev.tandem.kernels;

/**
 * The cold-start twin of a batched Q8_0/Q4_0 matmul ({@link ColdStart}): plain Java, every value
 * {@link IntDot.Format#dotQ8Scalar}'s bit for bit, several tokens per multiply.
 *
 * <p><b>Why.</b> A fresh {@code generate} runs its prompt's matmuls as twins (the vector kernels are
 * not compiled yet). Calling dotQ8Scalar per (row, token) copied the row and unpacked each weight once
 * per token, and ran ~1.4 GMAC/s a thread: a 15-token stories110M prompt took ~0.6 s of a cold run's
 * first token (JFR: 3 of 4 samples in the twin). Here a row is read once, and the activations of
 * {@link #tokensPerLong} tokens are packed into one long per element, so one 64-bit multiply makes
 * that many products: per weight, one decode and one multiply-add for all of them.
 *
 * <p><b>Why it is exact.</b> IntDot's lanes are sums of 4 products, w in [-128, 127] (Q4_0: [-8, 7])
 * times q in [-127, 127]: |lane| &lt;= 65,024 (Q4_0: 4,064). A long holding q_0 + q_1 2^f + q_2 2^2f + ...
 * (two's complement, f the field width) times w, summed over the lane's 4 elements, is exactly
 * lane_0 + lane_1 2^f + ..., and each lane fits a signed f-bit field (f = 21 for Q8_0, three tokens;
 * 16 for Q4_0, four), so peeling the fields off from the bottom (sign-extend the low f bits, subtract,
 * shift) gives each token's lane sum exactly. The float operations after that are dotQ8Scalar's:
 * acc_k = fma(lane_k, d_w * d_a, acc_k) block after block, then {@link IntDot#finishScalar}.
 */
final class TwinGemm {
    private TwinGemm() {}

    private static final int BLOCK = Q8Activations.BLOCK;
    private static final int LANES = 8;

    /** Tokens whose lanes share one long: Q8_0's lanes need 18 bits (three fields of 21), Q4_0's 13 (four of 16). */
    static int tokensPerLong(IntDot.Format w) {
        return w instanceof Q4_0Matrix ? 4 : 3;
    }

    private static int fieldBits(IntDot.Format w) {
        return w instanceof Q4_0Matrix ? 16 : 21;
    }

    /** Activations packed for {@link #rows}: per group of tokens, a long per element, and each token's block scales. */
    record Packed(long[] q, float[] d, int per, int groups) {}

    /**
     * a's rows in groups of {@code per} tokens: q[g*cols + e] = sum_i q_(g*per+i)[e] * 2^(i*bits), and
     * d[(g*blocks + blk)*per + i] that token's block scale (0 for the tokens past the last).
     */
    static Packed pack(Q8Activations a, int per, int bits) {
        int rows = a.rows(), cols = a.cols(), blocks = cols / BLOCK, groups = (rows + per - 1) / per;
        long[] q = new long[groups * cols];
        float[] d = new float[groups * blocks * per];
        for (int t = 0; t < rows; t++) {
            int g = t / per, i = t % per, shift = i * bits;
            for (int e = 0; e < cols; e++) {
                q[g * cols + e] += (long) a.q[t * cols + e] << shift;
            }
            for (int blk = 0; blk < blocks; blk++) {
                d[(g * blocks + blk) * per + i] = a.d[t * blocks + blk];
            }
        }
        return new Packed(q, d, per, groups);
    }

    /** The packing w's rows want. */
    static Packed pack(IntDot.Format w, Q8Activations a) {
        return pack(a, tokensPerLong(w), fieldBits(w));
    }

    /** out[t*rows + r] = w.dotQ8Scalar(r, a, t) for r in [start, end) and every token t of p (a's packing for w). */
    static void rows(IntDot.Format w, int start, int end, Packed p, int batch, float[] out) {
        WeightMatrix m = (WeightMatrix) w;
        int cols = m.cols, rows = m.rows;
        float[] acc = new float[LANES * p.per()];
        for (int r = start; r < end; r++) {
            byte[] bytes = ColdTwins.row(m.data, m.rowOffset(r), (int) m.rowBytes);
            for (int g = 0; g < p.groups(); g++) {
                java.util.Arrays.fill(acc, 0f);
                if (w instanceof Q4_0Matrix) {
                    nibbleGroup(bytes, cols, p, g, acc);
                } else {
                    byteGroup(bytes, cols, p, g, acc);
                }
                for (int i = 0, t = g * p.per(); i < p.per() && t < batch; i++, t++) {
                    out[t * rows + r] = IntDot.finishScalar(acc, i * LANES);
                }
            }
        }
    }

    /** Q8_0 (34-byte blocks: f16 d_w, 32 int8): three tokens a long, 21-bit fields. */
    private static void byteGroup(byte[] w, int cols, Packed p, int g, float[] acc) {
        long[] q = p.q();
        float[] d = p.d();
        int blocks = cols / BLOCK;
        for (int blk = 0; blk < blocks; blk++) {
            int o = blk * 34, j = g * cols + blk * BLOCK, s = (g * blocks + blk) * 3;
            float dw = IntDot.half(w, o);
            float s0 = dw * d[s], s1 = dw * d[s + 1], s2 = dw * d[s + 2];
            int b = o + 2;
            for (int k = 0; k < LANES; k++) {
                int e = 2 * k;
                long sum = w[b + e] * q[j + e] + w[b + e + 1] * q[j + e + 1] + w[b + e + 16] * q[j + e + 16] + w[b + e + 17] * q[j + e + 17];
                long x0 = sum << 43 >> 43, rest = (sum - x0) >> 21;
                long x1 = rest << 43 >> 43, x2 = (rest - x1) >> 21;
                acc[k] = Math.fma((float) x0, s0, acc[k]);
                acc[LANES + k] = Math.fma((float) x1, s1, acc[LANES + k]);
                acc[2 * LANES + k] = Math.fma((float) x2, s2, acc[2 * LANES + k]);
            }
        }
    }

    /** Q4_0 (18-byte blocks: f16 d_w, 16 bytes of nibbles less 8): four tokens a long, 16-bit fields. */
    private static void nibbleGroup(byte[] w, int cols, Packed p, int g, float[] acc) {
        long[] q = p.q();
        float[] d = p.d();
        int blocks = cols / BLOCK;
        for (int blk = 0; blk < blocks; blk++) {
            int o = blk * 18, j = g * cols + blk * BLOCK, s = (g * blocks + blk) * 4;
            float dw = IntDot.half(w, o);
            float s0 = dw * d[s], s1 = dw * d[s + 1], s2 = dw * d[s + 2], s3 = dw * d[s + 3];
            int b = o + 2;
            for (int k = 0; k < LANES; k++) {
                int e = 2 * k, w0 = w[b + e], w1 = w[b + e + 1];
                long sum = ((w0 & 0x0F) - 8) * q[j + e] + ((w1 & 0x0F) - 8) * q[j + e + 1]
                        + ((w0 >> 4 & 0x0F) - 8) * q[j + e + 16] + ((w1 >> 4 & 0x0F) - 8) * q[j + e + 17];
                long x0 = (short) sum, rest = (sum - x0) >> 16;
                long x1 = (short) rest;
                rest = (rest - x1) >> 16;
                long x2 = (short) rest, x3 = (rest - x2) >> 16;
                acc[k] = Math.fma((float) x0, s0, acc[k]);
                acc[LANES + k] = Math.fma((float) x1, s1, acc[LANES + k]);
                acc[2 * LANES + k] = Math.fma((float) x2, s2, acc[2 * LANES + k]);
                acc[3 * LANES + k] = Math.fma((float) x3, s3, acc[3 * LANES + k]);
            }
        }
    }
}
