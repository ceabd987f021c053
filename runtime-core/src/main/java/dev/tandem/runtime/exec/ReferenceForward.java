package dev.tandem.runtime.exec;

import dev.tandem.kernels.ColdStart;
import dev.tandem.kernels.Ops;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.device.AttentionWeights;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.LlamaWeights;
import dev.tandem.runtime.model.MoeLayer;
import java.util.Arrays;

/**
 * The reference Llama forward pass, in the spirit of llama2.c's run.c: it reads as the model's
 * specification, and every device and compiled schedule must reproduce its outputs.
 *
 * Decode runs one token through matvecs; prefill runs a whole chunk of prompt tokens through
 * matmuls so each weight is read once per chunk rather than once per token.
 *
 * Architectures are options of this one pass (see {@code ArchOptions}): q/k/v biases after the
 * projections, a per-head RMSNorm of q and k before the rotation, a head width of its own (so the
 * attention output is qDim = nHeads*headDim wide, not dim), and a mixture of experts in place of the
 * dense FFN ({@link HostMoeFfn}).
 *
 * Not thread-safe: one instance holds one sequence's KV cache and scratch buffers.
 */
public final class ReferenceForward implements Forward {
    /**
     * Prompt tokens per prefill matmul in a plan's executors; bounds the scratch memory at chunk ×
     * hiddenDim floats. The compiled plans price and size prefill in the same chunks, so it is
     * {@link ModelGraph}'s.
     */
    public static final int DEFAULT_PREFILL_CHUNK = ModelGraph.PREFILL_CHUNK;

    /**
     * Prompt tokens per prefill matmul of the CPU reference session ({@code Tandem.open} on the cpu,
     * {@code tandem bench}): 256, llama-bench's micro-batch. One 256-token matmul decodes each weight
     * panel once instead of four times, and TokenGemm's chain-ordered panels pay off from 128 tokens:
     * measured faster end to end than 64 (docs/benchmarks.md, "Prefill in 256-token chunks"). Scratch:
     * 256 × (3 dim + 2 qDim + 2 kvDim + 2 hidden) floats, 22.5 MB for the TinyLlama shape.
     */
    public static final int HOST_PREFILL_CHUNK = 256;

    private final LlamaConfig c;
    private final LlamaWeights w;
    private final float[] ropeInvFreq; // (headDim/2)
    private final KvCache cache;
    private final int prefillChunk;
    private final long batchedMacsPerToken; // what a prefill announces to ColdStart, per token

    // Decode scratch, one token.
    private final float[] x;      // (dim) residual stream
    private final float[] xb;     // (dim) normed input
    private final float[] xb2;    // (dim) projection output
    private final float[] att;    // (qDim) attention output
    private final float[] q;      // (qDim = nHeads*headDim)
    private final float[] k;      // (kvDim)
    private final float[] v;      // (kvDim)
    private final float[] hb;     // (hiddenDim) gate
    private final float[] hb2;    // (hiddenDim) up
    private final float[] logits; // (vocab)

    private final HostMoeFfn moe; // null for a dense model
    private final AttentionWeights[] attention; // per layer: what the options add to q, k, v

    // Prefill scratch, one chunk of B tokens; allocated on first prefill.
    private float[] px, pxb, pxb2, patt, pq, pk, pv, phb, phb2; // (B, dim|qDim|kvDim|hiddenDim)

    /**
     * @param ropeInvFreq  RoPE inverse frequencies (headDim/2), scaling included (see LoadedModel)
     * @param maxPositions KV cache length, at most the model's context length
     * @param prefillChunk prompt tokens per batched matmul
     */
    public ReferenceForward(LlamaConfig config, LlamaWeights weights, float[] ropeInvFreq, int maxPositions, int prefillChunk) {
        if (maxPositions < 1 || maxPositions > config.contextLength()) {
            throw new IllegalArgumentException("maxPositions must be in [1, " + config.contextLength() + "], got " + maxPositions);
        }
        if (prefillChunk < 1) {
            throw new IllegalArgumentException("prefillChunk must be positive, got " + prefillChunk);
        }
        this.c = config;
        this.w = weights;
        if (ropeInvFreq.length != config.headDim() / 2) {
            throw new IllegalArgumentException("ropeInvFreq needs headDim/2 = " + config.headDim() / 2 + " values, got " + ropeInvFreq.length);
        }
        this.ropeInvFreq = ropeInvFreq.clone();
        this.cache = new KvCache(config.nLayers(), maxPositions, config.kvDim());
        this.prefillChunk = prefillChunk;
        this.batchedMacsPerToken = batchedMacsPerToken(config, weights);
        int dim = config.dim();
        x = new float[dim];
        xb = new float[dim];
        xb2 = new float[dim];
        att = new float[config.qDim()];
        q = new float[config.qDim()];
        k = new float[config.kvDim()];
        v = new float[config.kvDim()];
        hb = new float[config.hiddenDim()];
        hb2 = new float[config.hiddenDim()];
        logits = new float[config.vocabSize()];
        moe = config.arch().isMoe() ? new HostMoeFfn(config) : null;
        attention = new AttentionWeights[config.nLayers()];
        for (int l = 0; l < attention.length; l++) {
            attention[l] = LayerBlocks.attention(config, weights, this.ropeInvFreq, l);
        }
    }

    public LlamaConfig config() { return c; }

    @Override
    public int maxPositions() { return cache.maxPositions(); }

    @Override
    public void close() {
        // Heap buffers only.
    }

    /**
     * Runs one token at position pos (0-based), appending its K/V to the cache.
     * @return the logits over the vocabulary (vocab); the array is reused by the next call
     */
    @Override
    public float[] forward(int token, int pos) {
        checkToken(token);
        checkPosition(pos, 1);
        int dim = c.dim(), kvDim = c.kvDim(), hidden = c.hiddenDim(), headDim = c.headDim();
        w.tokenEmbedding().dequantizeRow(token, x, 0);

        for (int l = 0; l < c.nLayers(); l++) {
            // Attention block: x += wo · attention(rope(wq·n(x)), rope(wk·n(x)), wv·n(x))
            Ops.rmsnorm(xb, 0, x, 0, w.attnNorm()[l], dim, c.rmsEps());
            // One pool job for the three (and for W1, W3 below), on one quantization of xb where the
            // formats share it: fewer hand-offs per token, the same values as three matvecs.
            WeightMatrix.matmulEach(new WeightMatrix[] {w.wq()[l], w.wk()[l], w.wv()[l]}, xb, new float[][] {q, k, v}, 1);
            attention[l].qkvOptions(q, 0, k, 0, v, 0);
            Ops.rope(q, 0, c.nHeads(), headDim, pos, ropeInvFreq);
            Ops.rope(k, 0, c.nKvHeads(), headDim, pos, ropeInvFreq);
            System.arraycopy(k, 0, cache.keys(l), pos * kvDim, kvDim);
            System.arraycopy(v, 0, cache.values(l), pos * kvDim, kvDim);
            Ops.attention(att, 0, q, 0, cache.keys(l), cache.values(l), 0, pos + 1, c.nHeads(), c.nKvHeads(), headDim);
            w.wo()[l].matvec(att, 0, xb2, 0);
            Ops.addInPlace(x, 0, xb2, 0, dim);

            // FFN block: x += w2 · (silu(w1·n(x)) ⊙ w3·n(x)), or the mixture of such FFNs
            Ops.rmsnorm(xb, 0, x, 0, w.ffnNorm()[l], dim, c.rmsEps());
            MoeLayer mixture = w.arch().moe(l);
            if (mixture != null) {
                moe.run(mixture, xb, 0, x, 0);
                continue;
            }
            WeightMatrix.matmulEach(new WeightMatrix[] {w.w1()[l], w.w3()[l]}, xb, new float[][] {hb, hb2}, 1);
            Ops.siluMul(hb, 0, hb2, 0, hidden);
            w.w2()[l].matvec(hb, 0, xb2, 0);
            Ops.addInPlace(x, 0, xb2, 0, dim);
        }

        Ops.rmsnorm(x, 0, x, 0, w.finalNorm(), dim, c.rmsEps());
        w.output().matvec(x, 0, logits, 0);
        return logits;
    }

    /**
     * Runs tokens at positions startPos.. as matmuls, chunk by chunk, filling the KV cache.
     * @return the logits after the last token (vocab); the array is reused by the next call
     */
    @Override
    public float[] prefill(int[] tokens, int startPos) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("prefill needs at least one token");
        }
        for (int t : tokens) {
            checkToken(t);
        }
        checkPosition(startPos, tokens.length);
        if (tokens.length == 1) {
            return forward(tokens[0], startPos);
        }
        // In a fresh JVM: all of this prefill as scalar twins, or all of it as vector forms (ColdStart).
        ColdStart.expectBatchedWork(tokens.length * batchedMacsPerToken);
        for (int done = 0; done < tokens.length; done += prefillChunk) {
            int batch = Math.min(prefillChunk, tokens.length - done);
            prefillChunk(tokens, done, batch, startPos + done);
        }
        // Logits only for the last token: the rest of the prompt needs none.
        int dim = c.dim();
        int last = ((tokens.length - 1) % prefillChunk) * dim;
        Ops.rmsnorm(x, 0, px, last, w.finalNorm(), dim, c.rmsEps());
        w.output().matvec(x, 0, logits, 0);
        return logits;
    }

    /** Multiply-adds of the layers' matrices per prefill token (the dense ones; MoE experts run as matvecs). */
    private static long batchedMacsPerToken(LlamaConfig c, LlamaWeights w) {
        long macs = 0;
        for (int l = 0; l < c.nLayers(); l++) {
            for (WeightMatrix m : new WeightMatrix[] {w.wq()[l], w.wk()[l], w.wv()[l], w.wo()[l]}) {
                macs += (long) m.rows() * m.cols();
            }
            if (w.arch().moe(l) == null) {
                for (WeightMatrix m : new WeightMatrix[] {w.w1()[l], w.w2()[l], w.w3()[l]}) {
                    macs += (long) m.rows() * m.cols();
                }
            }
        }
        return macs;
    }

    private void prefillChunk(int[] tokens, int from, int batch, int pos0) {
        int dim = c.dim(), kvDim = c.kvDim(), hidden = c.hiddenDim(), headDim = c.headDim();
        int qDim = c.qDim();
        ensurePrefillScratch();
        for (int b = 0; b < batch; b++) {
            w.tokenEmbedding().dequantizeRow(tokens[from + b], px, b * dim);
        }
        for (int l = 0; l < c.nLayers(); l++) {
            float[] keys = cache.keys(l), values = cache.values(l);
            for (int b = 0; b < batch; b++) {
                Ops.rmsnorm(pxb, b * dim, px, b * dim, w.attnNorm()[l], dim, c.rmsEps());
            }
            // (B, qDim), (B, kvDim), (B, kvDim); one quantization of pxb for the integer-dot formats
            WeightMatrix.matmulEach(new WeightMatrix[] {w.wq()[l], w.wk()[l], w.wv()[l]}, pxb, new float[][] {pq, pk, pv}, batch);
            for (int b = 0; b < batch; b++) {
                attention[l].qkvOptions(pq, b * qDim, pk, b * kvDim, pv, b * kvDim);
                Ops.rope(pq, b * qDim, c.nHeads(), headDim, pos0 + b, ropeInvFreq);
                Ops.rope(pk, b * kvDim, c.nKvHeads(), headDim, pos0 + b, ropeInvFreq);
            }
            System.arraycopy(pk, 0, keys, pos0 * kvDim, batch * kvDim);
            System.arraycopy(pv, 0, values, pos0 * kvDim, batch * kvDim);
            Ops.attentionPrefill(patt, pq, keys, values, 0, pos0, batch, c.nHeads(), c.nKvHeads(), headDim);
            w.wo()[l].matmul(patt, pxb2, batch);
            Ops.addInPlace(px, 0, pxb2, 0, batch * dim);

            for (int b = 0; b < batch; b++) {
                Ops.rmsnorm(pxb, b * dim, px, b * dim, w.ffnNorm()[l], dim, c.rmsEps());
            }
            MoeLayer mixture = w.arch().moe(l);
            if (mixture != null) {
                for (int b = 0; b < batch; b++) {  // each token its own experts
                    moe.run(mixture, pxb, b * dim, px, b * dim);
                }
                continue;
            }
            WeightMatrix.matmulEach(new WeightMatrix[] {w.w1()[l], w.w3()[l]}, pxb, new float[][] {phb, phb2}, batch); // (B, hidden) each
            Ops.siluMul(phb, 0, phb2, 0, batch * hidden);
            w.w2()[l].matmul(phb, pxb2, batch);  // (B, dim)
            Ops.addInPlace(px, 0, pxb2, 0, batch * dim);
        }
    }

    private void ensurePrefillScratch() {
        if (px != null) {
            return;
        }
        int b = prefillChunk;
        px = new float[b * c.dim()];
        pxb = new float[b * c.dim()];
        pxb2 = new float[b * c.dim()];
        patt = new float[b * c.qDim()];
        pq = new float[b * c.qDim()];
        pk = new float[b * c.kvDim()];
        pv = new float[b * c.kvDim()];
        phb = new float[b * c.hiddenDim()];
        phb2 = new float[b * c.hiddenDim()];
    }

    private void checkToken(int token) {
        if (token < 0 || token >= c.vocabSize()) {
            throw new IllegalArgumentException("token id " + token + " is outside the vocabulary [0, " + c.vocabSize() + ")");
        }
    }

    /** Checks that positions [pos, pos+count) fit the KV cache, and makes room for them. */
    private void checkPosition(int pos, int count) {
        if (pos < 0 || pos + count > cache.maxPositions()) {
            throw new IllegalArgumentException("positions [" + pos + ", " + (pos + count) + ") exceed the KV cache of "
                    + cache.maxPositions() + " positions");
        }
        cache.ensure(pos + count);
    }

    /**
     * Keys and values per layer, row = position, allocated for the positions used so far and grown by
     * doubling up to maxPositions: zeroing a whole long context's cache up front (75 MB for a
     * stories110M-sized model at 1024 positions) cost a cold run tens of milliseconds before its
     * first token. Growing copies the rows already written, so the values read are the same.
     */
    private static final class KvCache {
        private static final int FIRST_POSITIONS = 64;

        private final float[][] keys;
        private final float[][] values;
        private final int maxPositions;
        private final int kvDim;
        private int capacity;

        KvCache(int layers, int maxPositions, int kvDim) {
            long perLayer = (long) maxPositions * kvDim;
            if (perLayer > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("KV cache of " + maxPositions + " positions × " + kvDim
                        + " exceeds one array per layer; lower the context length");
            }
            this.maxPositions = maxPositions;
            this.kvDim = kvDim;
            this.capacity = Math.min(maxPositions, FIRST_POSITIONS);
            keys = new float[layers][capacity * kvDim];
            values = new float[layers][capacity * kvDim];
        }

        /** Makes room for positions [0, end), end at most maxPositions. */
        void ensure(int end) {
            if (end <= capacity) {
                return;
            }
            capacity = Math.min(maxPositions, Math.max(end, 2 * capacity));
            for (int l = 0; l < keys.length; l++) {
                keys[l] = Arrays.copyOf(keys[l], capacity * kvDim);
                values[l] = Arrays.copyOf(values[l], capacity * kvDim);
            }
        }

        float[] keys(int layer) { return keys[layer]; }

        float[] values(int layer) { return values[layer]; }

        int maxPositions() { return maxPositions; }
    }
}
