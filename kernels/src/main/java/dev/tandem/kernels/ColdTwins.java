package dev.tandem.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Scalar twins of the float Vector API kernels, run while the vector forms are cold (see
 * {@link ColdStart}). Each performs, lane by lane, the IEEE operations of its vector form in the same
 * order: {@link #FL} lanes per accumulator, {@code Math.fma} where the vector code fuses, two
 * accumulators where it has two, {@link Vec#sum}'s butterfly, then the same scalar tail. So a twin's
 * result equals its vector form's bit for bit at every species width (ColdTwinsTest checks it on odd
 * sizes at 128, 256 and the machine's widest width), which is what lets the kernels switch between
 * them at any call without changing a result.
 *
 * <p>Not {@link ScalarOps}: those are obvious one-accumulator references that agree with the vector
 * kernels only within rounding.
 */
final class ColdTwins {
    private ColdTwins() {}

    /** Lanes of the float species the vector forms use. */
    static final int FL = Vec.FL;

    /**
     * {@link Vec#sum} of lanes v[0..FL): at each step lane i becomes lane i plus lane i^s; lanes i
     * and i^s then hold the same value (IEEE addition commutes), so only the low half is kept.
     * Overwrites v.
     */
    static float sum(float[] v) {
        for (int s = FL / 2; s >= 1; s >>= 1) {
            for (int i = 0; i < s; i++) {
                v[i] = v[i] + v[i + s];
            }
        }
        return v[0];
    }

    /** {@link Vec#dot}: two accumulators over 2*FL-wide steps, one more FL step, their sum, the tail. */
    static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        float[] acc0 = new float[FL];
        float[] acc1 = new float[FL];
        int j = 0;
        for (int bound = n - 2 * FL; j <= bound; j += 2 * FL) {
            for (int l = 0; l < FL; l++) {
                acc0[l] = Math.fma(a[aOff + j + l], b[bOff + j + l], acc0[l]);
                acc1[l] = Math.fma(a[aOff + j + FL + l], b[bOff + j + FL + l], acc1[l]);
            }
        }
        for (int bound = n - FL; j <= bound; j += FL) {
            for (int l = 0; l < FL; l++) {
                acc0[l] = Math.fma(a[aOff + j + l], b[bOff + j + l], acc0[l]);
            }
        }
        for (int l = 0; l < FL; l++) {
            acc0[l] = acc0[l] + acc1[l];
        }
        float sum = sum(acc0);
        for (; j < n; j++) {
            sum += a[aOff + j] * b[bOff + j];
        }
        return sum;
    }

    /** {@link Ops#rmsnorm}'s vector form: the sum of squares by {@link #dot}, then (x*inv)*w per element. */
    static void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        float ss = dot(x, xOff, x, xOff, n);
        float inv = (float) (1.0 / Math.sqrt(ss / n + eps));
        for (int i = 0; i < n; i++) {
            out[outOff + i] = x[xOff + i] * inv * weight[i];
        }
    }

    /**
     * {@link Ops#siluMul}'s vector form: its tail loop, which is one lane of the body ({@link Exp}'s
     * scalar form is one lane of its vector form; g/(e+1) and g/(1+e) are the same division).
     */
    static void siluMul(float[] gate, int gOff, float[] up, int uOff, int n) {
        for (int i = 0; i < n; i++) {
            float g = gate[gOff + i];
            gate[gOff + i] = g / (1f + Exp.exp(-g)) * up[uOff + i];
        }
    }

    /**
     * {@link Ops#softmax}'s vector form. Its maximum is order-free (Math.max is associative and
     * commutative, NaN and signed zeros included), its exponentials and sum are already scalar and
     * sequential, and the final scaling is per element: {@link ScalarOps#softmax} is that arithmetic.
     */
    static void softmax(float[] x, int off, int n) {
        ScalarOps.softmax(x, off, n);
    }

    /** {@link Ops#attentionWeights}: the sum of the whole vectors in FL lanes and their butterfly, then the tail. */
    static void attentionWeights(float[] x, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[i]);
        }
        float[] acc = new float[FL];
        int whole = n - n % FL;
        for (int i = 0; i < whole; i++) {
            float e = Exp.exp(x[i] - max);
            x[i] = e;
            acc[i % FL] = acc[i % FL] + e;
        }
        float sum = sum(acc);
        for (int i = whole; i < n; i++) {
            float e = Exp.exp(x[i] - max);
            x[i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int i = 0; i < n; i++) {
            x[i] *= inv;
        }
    }

    /**
     * One query head against one kv head, as {@code Ops.attendHead}: scores by {@link #dot}, the
     * weights of {@link #attentionWeights}, then each output lane of the whole-vector part of headDim fused-multiply-added over the
     * positions in order, and the remaining lanes by plain multiply and add (as the vector form's tail).
     */
    static void attendHead(float[] out, int oh, float[] q, int qh, float[] keyCache, float[] valueCache,
                           int kv, int kvDim, int[] rowOffsets, int nPos, int headDim, float[] scores) {
        float scale = (float) (1.0 / Math.sqrt(headDim));
        for (int p = 0; p < nPos; p++) {
            int row = rowOffsets == null ? kv + p * kvDim : kv + rowOffsets[p];
            scores[p] = dot(q, qh, keyCache, row, headDim) * scale;
        }
        attentionWeights(scores, nPos);
        int vectorPart = headDim - headDim % FL;
        for (int d = 0; d < headDim; d++) {
            float o = 0f;
            for (int p = 0; p < nPos; p++) {
                int row = rowOffsets == null ? kv + p * kvDim : kv + rowOffsets[p];
                o = d < vectorPart ? Math.fma(valueCache[row + d], scores[p], o) : o + scores[p] * valueCache[row + d];
            }
            out[oh + d] = o;
        }
    }

    /**
     * Each thread's buffers for {@link #row} and {@link #lanes8}. (No withInitial lambda: a lambda's
     * class is spun at its first use, during the cold first token, as the AOT cache cannot hold it.)
     */
    private static final ThreadLocal<Scratch> SCRATCH = new ThreadLocal<>();

    /** A thread's row buffer (grown, never shrunk) and 8 accumulator lanes. */
    private static final class Scratch {
        byte[] row = new byte[ROW_MIN_BYTES];
        final float[] lanes = new float[8];
    }

    /**
     * The smallest row buffer: a Q8_0 row of ~61k columns. Sized once so the buffer never grows
     * while the twins run: a first buffer fitted to the attention's 768-column rows grew at the first
     * 2048-column row, the branch C2 had compiled as never taken deoptimized the twin, and C2
     * compiled it a second time inside the cold first token (~10 ms of a core; docs/benchmarks.md,
     * "Cold start: what the compiler and the kernel do during the first token").
     */
    private static final int ROW_MIN_BYTES = 64 * 1024;

    private static Scratch scratch() {
        Scratch s = SCRATCH.get();
        if (s == null) {
            s = new Scratch();
            SCRATCH.set(s);
        }
        return s;
    }

    /**
     * Bytes [offset, offset+length) of data in this thread's reusable buffer (valid until its next
     * call on this thread). The integer twins read each row through it: one bulk copy instead of a
     * bounds and liveness check per byte, and no fresh array per row, whose allocation, zeroing and
     * the young collection they brought took ~30 % of a cold first token's CPU (a stories110M Q8_0 token
     * copies ~100 MB of rows; docs/benchmarks.md, "Cold start").
     */
    static byte[] row(MemorySegment data, long offset, int length) {
        Scratch s = scratch();
        if (s.row.length < length) {
            s.row = new byte[length];
        }
        MemorySegment.copy(data, ValueLayout.JAVA_BYTE, offset, s.row, 0, length);
        return s.row;
    }

    /**
     * This thread's 8 accumulator lanes, zeroed (valid until its next call on this thread): the
     * integer twins' per-row accumulators. A fresh {@code new float[8]} per row was ~8 MB a
     * stories110M token, and in a fresh JVM each new 2 MiB of heap the allocations reached cost a
     * page fault that zeroes it (~20 ms of the cold first token's CPU under perf).
     */
    static float[] lanes8() {
        float[] lanes = scratch().lanes;
        Arrays.fill(lanes, 0f);
        return lanes;
    }
}
