package dev.tandem.kernels;

import static dev.tandem.kernels.Vec.F;
import static dev.tandem.kernels.Vec.FL;

import jdk.incubator.vector.FloatVector;

/**
 * The transformer's non-matmul ops on F32 activations (Vector API where it pays), each matching
 * {@link ScalarOps}. Arrays carry explicit offsets so callers can work inside batched buffers.
 * With {@link KernelConfig#vectorBits()} == 0 every op runs its {@link ScalarOps} counterpart; in a
 * fresh JVM the first calls run {@link ColdTwins}, which give the vector forms' bits (see {@link ColdStart}).
 *
 * CONTRACT (ScalarOps has the same signatures):
 */
public final class Ops {
    private Ops() {}

    /** Attention below this many multiply-adds (nHeads*nPos*headDim) stays on the calling thread. */
    private static final int PARALLEL_ATTENTION_WORK = 1 << 15;

    /** out[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i], i in [0,n). out may alias x. */
    public static void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        if (!Vec.ENABLED) {
            ScalarOps.rmsnorm(out, outOff, x, xOff, weight, n, eps);
            return;
        }
        if (ColdStart.OPS.cold(1)) {
            ColdTwins.rmsnorm(out, outOff, x, xOff, weight, n, eps);
            return;
        }
        float ss = Vec.dot(x, xOff, x, xOff, n);
        float inv = (float) (1.0 / Math.sqrt(ss / n + eps));
        int i = 0;
        for (int bound = n - FL; i <= bound; i += FL) {
            FloatVector.fromArray(F, x, xOff + i).mul(inv).mul(FloatVector.fromArray(F, weight, i))
                    .intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = x[xOff + i] * inv * weight[i];
        }
    }

    /**
     * Rotates adjacent pairs (2i, 2i+1) of each of nHeads heads of headDim values at vec[off..]
     * by angle pos * invFreq[i] (i in [0, headDim/2)); the angle and its cos/sin are computed in double.
     * (Cheap next to the matmuls, and its precision matters at long positions: it stays scalar.)
     */
    public static void rope(float[] vec, int off, int nHeads, int headDim, int pos, float[] invFreq) {
        ScalarOps.rope(vec, off, nHeads, headDim, pos, invFreq);
    }

    /** In-place numerically stable softmax of x[off, off+n). */
    public static void softmax(float[] x, int off, int n) {
        if (!Vec.ENABLED) {
            ScalarOps.softmax(x, off, n);
            return;
        }
        if (ColdStart.OPS.cold(1)) {
            ColdTwins.softmax(x, off, n);
            return;
        }
        // A scalar maximum: order-free, so the same value as the vector form it replaced, whose
        // lanewise FloatVector.max carried through the loop cost ~70 cycles a 512-bit vector on Zen 5
        // (1.28 ns a float against 0.23 at 256 bits, docs/benchmarks.md); one compare per element is
        // small next to the exp below.
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        // exp stays scalar Math.exp so results track ScalarOps closely; softmax is not a hot spot.
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(x[off + i] - max);
            x[off + i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        int i = 0;
        for (int bound = n - FL; i <= bound; i += FL) {
            FloatVector.fromArray(F, x, off + i).mul(inv).intoArray(x, off + i);
        }
        for (; i < n; i++) {
            x[off + i] *= inv;
        }
    }

    /**
     * Attention's softmax of scores[0, n): {@link #softmax}'s result to within an ulp or two, in
     * vector arithmetic: {@link Exp} instead of Math.exp, whose scalar intrinsic cost ~4 ns a score
     * (a third of a batch-16 decode step's attention at 256 positions), and the sum in FL lanes and
     * {@link Vec#sum}'s butterfly instead of one sequential chain. Its scalar twin is
     * {@link ColdTwins#attentionWeights}. Sampling keeps {@link #softmax}: its probabilities are
     * compared with an independent reference's.
     */
    static void attentionWeights(float[] x, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[i]);
        }
        FloatVector vmax = FloatVector.broadcast(F, max);
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = n - FL; i <= bound; i += FL) {
            FloatVector e = Exp.exp(FloatVector.fromArray(F, x, i).sub(vmax));
            e.intoArray(x, i);
            acc = acc.add(e);
        }
        float sum = Vec.sum(acc);
        for (int j = i; j < n; j++) {
            float e = Exp.exp(x[j] - max);
            x[j] = e;
            sum += e;
        }
        float inv = 1f / sum;
        i = 0;
        for (int bound = n - FL; i <= bound; i += FL) {
            FloatVector.fromArray(F, x, i).mul(inv).intoArray(x, i);
        }
        for (; i < n; i++) {
            x[i] *= inv;
        }
    }

    /**
     * gate[i] = silu(gate[i]) * up[i], i in [0,n); silu(v) = v / (1 + exp(-v)).
     * {@link Exp}, whose scalar form is one lane of its vector form: the tail matches the body, so an
     * FFN row's bits do not depend on where the row sits in a batch (B*hidden need not be a multiple
     * of the lanes).
     */
    public static void siluMul(float[] gate, int gOff, float[] up, int uOff, int n) {
        if (!Vec.ENABLED) {
            ScalarOps.siluMul(gate, gOff, up, uOff, n);
            return;
        }
        if (ColdStart.OPS.cold(1)) {
            ColdTwins.siluMul(gate, gOff, up, uOff, n);
            return;
        }
        int i = 0;
        for (int bound = n - FL; i <= bound; i += FL) {
            FloatVector g = FloatVector.fromArray(F, gate, gOff + i);
            // Exp, not lanewise(EXP): C2's EXP intrinsic and the interpreter's differ in the last bit.
            FloatVector e = Exp.exp(g.neg());
            g.div(e.add(1f)).mul(FloatVector.fromArray(F, up, uOff + i)).intoArray(gate, gOff + i);
        }
        for (; i < n; i++) {
            float g = gate[gOff + i];
            gate[gOff + i] = g / (1f + Exp.exp(-g)) * up[uOff + i];
        }
    }

    /** a[aOff+i] += b[bOff+i] (the residual). */
    public static void addInPlace(float[] a, int aOff, float[] b, int bOff, int n) {
        if (!Vec.ENABLED || ColdStart.OPS.cold(1)) { // elementwise: the scalar loop is its twin
            ScalarOps.addInPlace(a, aOff, b, bOff, n);
            return;
        }
        int i = 0;
        for (int bound = n - FL; i <= bound; i += FL) {
            FloatVector.fromArray(F, a, aOff + i).add(FloatVector.fromArray(F, b, bOff + i)).intoArray(a, aOff + i);
        }
        for (; i < n; i++) {
            a[aOff + i] += b[bOff + i];
        }
    }

    /**
     * Causal GQA attention for one query position over a KV cache.
     * q:          [nHeads * headDim] at qOff
     * keyCache:   [maxSeq][nKvHeads * headDim] at kvOff (positions 0..nPos-1 are valid)
     * valueCache: same layout as keyCache
     * out:        [nHeads * headDim] at outOff
     * Query head h uses kv head h / (nHeads / nKvHeads); scores scaled by 1/sqrt(headDim).
     * Heads are spread over {@link Parallel} once nHeads*nPos*headDim is large enough to pay for it.
     */
    public static void attention(float[] out, int outOff, float[] q, int qOff,
                                 float[] keyCache, float[] valueCache, int kvOff,
                                 int nPos, int nHeads, int nKvHeads, int headDim) {
        if (!Vec.ENABLED) {
            ScalarOps.attention(out, outOff, q, qOff, keyCache, valueCache, kvOff, nPos, nHeads, nKvHeads, headDim);
            return;
        }
        int group = checkHeads(nHeads, nKvHeads);
        if (nPos < 1) {
            throw new IllegalArgumentException("nPos must be >= 1, got " + nPos);
        }
        int kvDim = nKvHeads * headDim;
        boolean cold = ColdStart.OPS.cold(1);
        long work = (long) nHeads * nPos * headDim;
        int minChunk = work < PARALLEL_ATTENTION_WORK ? nHeads : 1;
        Parallel.forRange(nHeads, minChunk,
                new HeadRange(out, outOff, q, qOff, keyCache, valueCache, kvOff, nPos, group, kvDim, headDim, cold));
    }

    /**
     * {@link #attention}'s query heads [h0, h1). A class, not a lambda: the class of a lambda is spun
     * at its first use, inside the cold first token (the AOT cache cannot hold one here).
     */
    private record HeadRange(float[] out, int outOff, float[] q, int qOff, float[] keyCache, float[] valueCache,
                             int kvOff, int nPos, int group, int kvDim, int headDim, boolean cold)
            implements Parallel.RangeBody {
        @Override
        public void run(int h0, int h1) {
            float[] scores = new float[nPos];
            for (int h = h0; h < h1; h++) {
                attendHead(out, outOff + h * headDim, q, qOff + h * headDim, keyCache, valueCache,
                        kvOff + (h / group) * headDim, kvDim, null, nPos, headDim, scores, cold);
            }
        }
    }

    /**
     * Causal attention for a prefill batch: token b in [0, batch) sits at position startPos+b and
     * attends positions 0..startPos+b of the caches, which must already hold the batch's keys and values.
     * q and out are [batch][nHeads*headDim] from index 0; caches as in {@link #attention}.
     * Parallel over (token, head) pairs.
     */
    public static void attentionPrefill(float[] out, float[] q, float[] keyCache, float[] valueCache, int kvOff,
                                        int startPos, int batch, int nHeads, int nKvHeads, int headDim) {
        if (!Vec.ENABLED) {
            ScalarOps.attentionPrefill(out, q, keyCache, valueCache, kvOff, startPos, batch, nHeads, nKvHeads, headDim);
            return;
        }
        int group = checkHeads(nHeads, nKvHeads);
        if (startPos < 0 || batch < 0) {
            throw new IllegalArgumentException("startPos and batch must be >= 0, got " + startPos + ", " + batch);
        }
        int dim = nHeads * headDim;
        int kvDim = nKvHeads * headDim;
        int items = batch * nHeads;
        boolean cold = ColdStart.OPS.cold(batch); // a token's attention per row of the batch
        long work = (long) items * (startPos + (batch + 1) / 2) * headDim;
        int minChunk = work < PARALLEL_ATTENTION_WORK ? Math.max(1, items) : 1;
        Parallel.forRange(items, minChunk, (i0, i1) -> {
            float[] scores = new float[startPos + batch];
            for (int i = i0; i < i1; i++) {
                int b = i / nHeads;
                int h = i % nHeads;
                attendHead(out, b * dim + h * headDim, q, b * dim + h * headDim, keyCache, valueCache,
                        kvOff + (h / group) * headDim, kvDim, null, startPos + b + 1, headDim, scores, cold);
            }
        });
    }

    /** Index i in [0, n) of the largest of x[off, off+n) (relative to off); the first one on ties. */
    public static int argmax(float[] x, int off, int n) {
        if (n < 1) {
            throw new IllegalArgumentException("argmax of an empty range");
        }
        // Once per token over the vocabulary: a plain loop is plenty and keeps "first on ties" obvious.
        return ScalarOps.argmax(x, off, n);
    }

    /**
     * Causal GQA attention for a batch of rows from different sequences over a paged KV cache. Row i
     * sits at position positions[i] of the sequence whose block table is tables[i] and attends that
     * sequence's positions [0, positions[i]]; position p lives in cache row
     * tables[i][p / blockSize] * blockSize + p % blockSize of keyCache/valueCache, each row kvDim wide.
     * q and out are (rows, nHeads*headDim). Each (row, head) gets exactly the arithmetic of
     * {@link #attention} over the same keys and values, so a row's result does not depend on what else
     * is in the batch or on how its sequence's blocks are laid out.
     */
    public static void attentionPaged(float[] out, float[] q, float[] keyCache, float[] valueCache,
                                      int[] positions, int[][] tables, int blockSize,
                                      int nHeads, int nKvHeads, int headDim) {
        if (!Vec.ENABLED) {
            ScalarOps.attentionPaged(out, q, keyCache, valueCache, positions, tables, blockSize, nHeads, nKvHeads, headDim);
            return;
        }
        int group = checkHeads(nHeads, nKvHeads);
        int rows = positions.length;
        int dim = nHeads * headDim;
        int kvDim = nKvHeads * headDim;
        int[][] rowOffsets = new int[rows][];
        long work = 0;
        for (int i = 0; i < rows; i++) {
            rowOffsets[i] = pagedRowOffsets(tables[i], blockSize, positions[i] + 1, kvDim);
            work += (long) (positions[i] + 1) * nHeads * headDim;
        }
        int items = rows * nHeads;
        boolean cold = ColdStart.OPS.cold(rows);
        int minChunk = work < PARALLEL_ATTENTION_WORK ? Math.max(1, items) : 1;
        Parallel.forRange(items, minChunk, (i0, i1) -> {
            float[] scores = null;
            for (int i = i0; i < i1; i++) {
                int b = i / nHeads;
                int h = i % nHeads;
                int nPos = positions[b] + 1;
                if (scores == null || scores.length < nPos) {
                    scores = new float[nPos];
                }
                attendHead(out, b * dim + h * headDim, q, b * dim + h * headDim, keyCache, valueCache,
                        (h / group) * headDim, kvDim, rowOffsets[b], nPos, headDim, scores, cold);
            }
        });
    }

    /** Float offset of each of a sequence's first nPos positions in a paged cache of kvDim-wide rows. */
    static int[] pagedRowOffsets(int[] table, int blockSize, int nPos, int kvDim) {
        if (blockSize < 1) {
            throw new IllegalArgumentException("blockSize must be >= 1, got " + blockSize);
        }
        if ((nPos + blockSize - 1) / blockSize > table.length) {
            throw new IllegalArgumentException(nPos + " positions need " + ((nPos + blockSize - 1) / blockSize)
                    + " blocks of " + blockSize + ", but the block table has " + table.length);
        }
        int[] offsets = new int[nPos];
        for (int p = 0; p < nPos; p++) {
            offsets[p] = Math.multiplyExact(table[p / blockSize] * blockSize + p % blockSize, kvDim);
        }
        return offsets;
    }

    /**
     * One query head against one kv head: kv is the head's offset within a cache row; position p's
     * row starts at rowOffsets[p], or at p * kvDim when rowOffsets is null (a contiguous cache).
     * cold: run {@link ColdTwins#attendHead}, the same arithmetic in scalar code.
     */
    private static void attendHead(float[] out, int oh, float[] q, int qh, float[] keyCache, float[] valueCache,
                                   int kv, int kvDim, int[] rowOffsets, int nPos, int headDim, float[] scores,
                                   boolean cold) {
        if (cold) {
            ColdTwins.attendHead(out, oh, q, qh, keyCache, valueCache, kv, kvDim, rowOffsets, nPos, headDim, scores);
        } else {
            attendHeadVector(out, oh, q, qh, keyCache, valueCache, kv, kvDim, rowOffsets, nPos, headDim, scores);
        }
    }

    /**
     * {@link #attendHead}'s vector form, a method of its own so that the dispatcher C1 compiles while
     * the twins run is a few bytes: with the vector form inside, C1 spent 11-25 ms of a core on ~1 KB
     * of Vector API code during the cold first token, code that token never runs.
     */
    private static void attendHeadVector(float[] out, int oh, float[] q, int qh, float[] keyCache, float[] valueCache,
                                         int kv, int kvDim, int[] rowOffsets, int nPos, int headDim, float[] scores) {
        attentionScores(q, qh, keyCache, kv, kvDim, rowOffsets, nPos, headDim, scores);
        attentionWeights(scores, nPos);
        // out = sum_p scores[p] * V[p], each FL-wide slice of headDim its own chain of FMAs in position
        // order. Eight slices (a 64-wide head on AVX2) share a pass over the positions: with one slice
        // per pass each position waited for the previous FMA (its 4-cycle latency, per position and
        // slice), and attention took ~1/8 of a stories110M pp256 (docs/benchmarks.md, "Attention's value
        // sum"). The same operations per slice either way, so the results are bit for bit the one-slice
        // loop's (and the cold twin's).
        int d = 0;
        for (int bound = headDim - 8 * FL; d <= bound; d += 8 * FL) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            for (int p = 0; p < nPos; p++) {
                int row = (rowOffsets == null ? kv + p * kvDim : kv + rowOffsets[p]) + d;
                FloatVector s = FloatVector.broadcast(F, scores[p]);
                a0 = FloatVector.fromArray(F, valueCache, row).fma(s, a0);
                a1 = FloatVector.fromArray(F, valueCache, row + FL).fma(s, a1);
                a2 = FloatVector.fromArray(F, valueCache, row + 2 * FL).fma(s, a2);
                a3 = FloatVector.fromArray(F, valueCache, row + 3 * FL).fma(s, a3);
                a4 = FloatVector.fromArray(F, valueCache, row + 4 * FL).fma(s, a4);
                a5 = FloatVector.fromArray(F, valueCache, row + 5 * FL).fma(s, a5);
                a6 = FloatVector.fromArray(F, valueCache, row + 6 * FL).fma(s, a6);
                a7 = FloatVector.fromArray(F, valueCache, row + 7 * FL).fma(s, a7);
            }
            a0.intoArray(out, oh + d);
            a1.intoArray(out, oh + d + FL);
            a2.intoArray(out, oh + d + 2 * FL);
            a3.intoArray(out, oh + d + 3 * FL);
            a4.intoArray(out, oh + d + 4 * FL);
            a5.intoArray(out, oh + d + 5 * FL);
            a6.intoArray(out, oh + d + 6 * FL);
            a7.intoArray(out, oh + d + 7 * FL);
        }
        // Four slices a pass where eight do not fit: a 64-wide head at 512 bits (stories110M,
        // TinyLlama) is four vectors, and one slice a pass waited on each FMA's latency.
        for (int bound = headDim - 4 * FL; d <= bound; d += 4 * FL) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int p = 0; p < nPos; p++) {
                int row = (rowOffsets == null ? kv + p * kvDim : kv + rowOffsets[p]) + d;
                FloatVector s = FloatVector.broadcast(F, scores[p]);
                a0 = FloatVector.fromArray(F, valueCache, row).fma(s, a0);
                a1 = FloatVector.fromArray(F, valueCache, row + FL).fma(s, a1);
                a2 = FloatVector.fromArray(F, valueCache, row + 2 * FL).fma(s, a2);
                a3 = FloatVector.fromArray(F, valueCache, row + 3 * FL).fma(s, a3);
            }
            a0.intoArray(out, oh + d);
            a1.intoArray(out, oh + d + FL);
            a2.intoArray(out, oh + d + 2 * FL);
            a3.intoArray(out, oh + d + 3 * FL);
        }
        for (int bound = headDim - FL; d <= bound; d += FL) {
            FloatVector acc = FloatVector.zero(F);
            for (int p = 0; p < nPos; p++) {
                int row = rowOffsets == null ? kv + p * kvDim : kv + rowOffsets[p];
                acc = FloatVector.fromArray(F, valueCache, row + d).fma(FloatVector.broadcast(F, scores[p]), acc);
            }
            acc.intoArray(out, oh + d);
        }
        for (; d < headDim; d++) {
            float o = 0f;
            for (int p = 0; p < nPos; p++) {
                int row = rowOffsets == null ? kv + p * kvDim : kv + rowOffsets[p];
                o += scores[p] * valueCache[row + d];
            }
            out[oh + d] = o;
        }
    }

    /** scores[p] = (q . key p) / sqrt(headDim) for p in [0, nPos), each dot with {@link Vec#dot}'s arithmetic. */
    private static void attentionScores(float[] q, int qh, float[] keyCache, int kv, int kvDim, int[] rowOffsets,
                                        int nPos, int headDim, float[] scores) {
        float scale = (float) (1.0 / Math.sqrt(headDim));
        int p = 0;
        if (headDim == 4 * FL) {
            // Vec.dot's arithmetic for a head of four vectors (64 wide at 512 bits), with the query's
            // vectors loaded once per head instead of once per position.
            FloatVector q0 = FloatVector.fromArray(F, q, qh), q1 = FloatVector.fromArray(F, q, qh + FL);
            FloatVector q2 = FloatVector.fromArray(F, q, qh + 2 * FL), q3 = FloatVector.fromArray(F, q, qh + 3 * FL);
            FloatVector zero = FloatVector.zero(F);
            for (; p < nPos; p++) {
                int row = rowOffsets == null ? kv + p * kvDim : kv + rowOffsets[p];
                FloatVector acc0 = q0.fma(FloatVector.fromArray(F, keyCache, row), zero);
                FloatVector acc1 = q1.fma(FloatVector.fromArray(F, keyCache, row + FL), zero);
                acc0 = q2.fma(FloatVector.fromArray(F, keyCache, row + 2 * FL), acc0);
                acc1 = q3.fma(FloatVector.fromArray(F, keyCache, row + 3 * FL), acc1);
                scores[p] = Vec.sum(acc0.add(acc1)) * scale;
            }
        }
        for (; p < nPos; p++) {
            int row = rowOffsets == null ? kv + p * kvDim : kv + rowOffsets[p];
            scores[p] = Vec.dot(q, qh, keyCache, row, headDim) * scale;
        }
    }

    /** Heads per kv head, after checking that the counts make sense. */
    static int checkHeads(int nHeads, int nKvHeads) {
        if (nHeads < 1 || nKvHeads < 1 || nHeads % nKvHeads != 0) {
            throw new IllegalArgumentException("nHeads (" + nHeads + ") must be a positive multiple of nKvHeads ("
                    + nKvHeads + ")");
        }
        return nHeads / nKvHeads;
    }
}
