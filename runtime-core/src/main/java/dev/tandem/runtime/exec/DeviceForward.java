package dev.tandem.runtime.exec;

import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceWeights;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.LlamaWeights;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link ReferenceForward}'s algorithm on any {@link Device}: the weights and the KV cache live on
 * the device, and only token ids go in and logits come out. Decode is a batch of one.
 */
public final class DeviceForward implements Forward {
    private final Device device;
    private final LlamaConfig c;
    private final int maxPositions;
    private final int chunk;
    private final List<AutoCloseable> owned = new ArrayList<>();

    private final DeviceWeights embedding, output;
    private final DeviceWeights[] wq, wk, wv, wo, w1, w2, w3;
    private final DeviceBuffer[] attnNorm, ffnNorm, keys, values;
    private final DeviceBuffer finalNorm, invFreq;
    // Scratch for a chunk of B rows: (B, dim), (B, qDim), (B, kvDim), (B, hidden); last: (1, dim).
    private final DeviceBuffer x, xb, xb2, q, k, v, hb, hb2, last, logitsBuffer;
    private final float[] logits;

    /**
     * Checks the whole footprint against the device's memory first, so a model that cannot fit
     * fails before a single weight is uploaded.
     */
    public DeviceForward(Device device, LlamaConfig config, LlamaWeights weights, float[] ropeInvFreq,
                         int maxPositions, int prefillChunk) {
        if (maxPositions < 1 || maxPositions > config.contextLength()) {
            throw new IllegalArgumentException("maxPositions must be in [1, " + config.contextLength() + "], got " + maxPositions);
        }
        this.device = device;
        this.c = config;
        this.maxPositions = maxPositions;
        this.chunk = prefillChunk;
        long needed = footprintBytes(config, weights, maxPositions, prefillChunk);
        device.requireCapacity("the model (weights, KV cache of " + maxPositions + " positions and scratch)", needed);
        int layers = config.nLayers(), dim = config.dim(), kvDim = config.kvDim(), hidden = config.hiddenDim();
        int qDim = config.nHeads() * config.headDim();
        try {
            Map<WeightMatrix, DeviceWeights> uploaded = new IdentityHashMap<>();
            embedding = upload(uploaded, weights.tokenEmbedding());
            output = upload(uploaded, weights.output()); // tied output reuses the embedding upload
            wq = new DeviceWeights[layers];
            wk = new DeviceWeights[layers];
            wv = new DeviceWeights[layers];
            wo = new DeviceWeights[layers];
            w1 = new DeviceWeights[layers];
            w2 = new DeviceWeights[layers];
            w3 = new DeviceWeights[layers];
            attnNorm = new DeviceBuffer[layers];
            ffnNorm = new DeviceBuffer[layers];
            keys = new DeviceBuffer[layers];
            values = new DeviceBuffer[layers];
            for (int l = 0; l < layers; l++) {
                wq[l] = upload(uploaded, weights.wq()[l]);
                wk[l] = upload(uploaded, weights.wk()[l]);
                wv[l] = upload(uploaded, weights.wv()[l]);
                wo[l] = upload(uploaded, weights.wo()[l]);
                w1[l] = upload(uploaded, weights.w1()[l]);
                w2[l] = upload(uploaded, weights.w2()[l]);
                w3[l] = upload(uploaded, weights.w3()[l]);
                attnNorm[l] = vector(weights.attnNorm()[l]);
                ffnNorm[l] = vector(weights.ffnNorm()[l]);
                keys[l] = buffer((long) maxPositions * kvDim);
                values[l] = buffer((long) maxPositions * kvDim);
            }
            finalNorm = vector(weights.finalNorm());
            invFreq = vector(ropeInvFreq);
            x = buffer((long) chunk * dim);
            xb = buffer((long) chunk * dim);
            xb2 = buffer((long) chunk * dim);
            q = buffer((long) chunk * qDim);
            k = buffer((long) chunk * kvDim);
            v = buffer((long) chunk * kvDim);
            hb = buffer((long) chunk * hidden);
            hb2 = buffer((long) chunk * hidden);
            last = buffer(dim);
            logitsBuffer = buffer(config.vocabSize());
            logits = new float[config.vocabSize()];
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Bytes this forward pass would hold on a device. */
    public static long footprintBytes(LlamaConfig c, LlamaWeights w, int maxPositions, int chunk) {
        long weightBytes = w.decodeWeightBytes() + (w.output() == w.tokenEmbedding() ? 0 : w.tokenEmbedding().byteSize());
        long norms = (2L * c.nLayers() + 1) * c.dim() * Float.BYTES;
        long kv = 2L * c.nLayers() * maxPositions * c.kvDim() * Float.BYTES;
        long scratch = (long) chunk * (3L * c.dim() + c.nHeads() * c.headDim() + 2L * c.kvDim() + 2L * c.hiddenDim()) * Float.BYTES
                + ((long) c.dim() + c.vocabSize()) * Float.BYTES;
        return weightBytes + norms + kv + scratch;
    }

    @Override
    public int maxPositions() { return maxPositions; }

    @Override
    public float[] forward(int token, int pos) {
        return prefill(new int[] {token}, pos);
    }

    @Override
    public float[] prefill(int[] tokens, int startPos) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("prefill needs at least one token");
        }
        if (startPos < 0 || startPos + tokens.length > maxPositions) {
            throw new IllegalArgumentException("positions [" + startPos + ", " + (startPos + tokens.length)
                    + ") exceed the KV cache of " + maxPositions + " positions");
        }
        for (int t : tokens) {
            if (t < 0 || t >= c.vocabSize()) {
                throw new IllegalArgumentException("token id " + t + " is outside the vocabulary [0, " + c.vocabSize() + ")");
            }
        }
        int batch = 0;
        for (int done = 0; done < tokens.length; done += batch) {
            batch = Math.min(chunk, tokens.length - done);
            int[] part = java.util.Arrays.copyOfRange(tokens, done, done + batch);
            layers(part, startPos + done);
        }
        int dim = c.dim();
        device.copy(x, (long) (batch - 1) * dim, last, 0, dim);
        device.rmsnorm(last, last, finalNorm, dim, 1, c.rmsEps());
        device.matmul(output, last, logitsBuffer, 1);
        device.read(logitsBuffer, 0, logits, 0, logits.length);
        return logits;
    }

    private void layers(int[] tokens, int pos0) {
        int batch = tokens.length, dim = c.dim(), kvDim = c.kvDim(), headDim = c.headDim();
        float eps = c.rmsEps();
        device.embed(embedding, tokens, x);
        for (int l = 0; l < c.nLayers(); l++) {
            device.rmsnorm(xb, x, attnNorm[l], dim, batch, eps);
            device.matmul(wq[l], xb, q, batch);
            device.matmul(wk[l], xb, k, batch);
            device.matmul(wv[l], xb, v, batch);
            device.rope(q, c.nHeads(), headDim, pos0, batch, invFreq);
            device.rope(k, c.nKvHeads(), headDim, pos0, batch, invFreq);
            device.copy(k, 0, keys[l], (long) pos0 * kvDim, (long) batch * kvDim);
            device.copy(v, 0, values[l], (long) pos0 * kvDim, (long) batch * kvDim);
            device.attention(xb, q, keys[l], values[l], pos0, batch, c.nHeads(), c.nKvHeads(), headDim);
            device.matmul(wo[l], xb, xb2, batch);
            device.add(x, xb2, (long) batch * dim);

            device.rmsnorm(xb, x, ffnNorm[l], dim, batch, eps);
            device.matmul(w1[l], xb, hb, batch);
            device.matmul(w3[l], xb, hb2, batch);
            device.siluMul(hb, hb2, (long) batch * c.hiddenDim());
            device.matmul(w2[l], hb, xb2, batch);
            device.add(x, xb2, (long) batch * dim);
        }
    }

    private DeviceWeights upload(Map<WeightMatrix, DeviceWeights> uploaded, WeightMatrix m) {
        DeviceWeights w = uploaded.get(m);
        if (w == null) {
            w = device.upload(m);
            owned.add(w);
            uploaded.put(m, w);
        }
        return w;
    }

    private DeviceBuffer buffer(long floats) {
        DeviceBuffer b = device.allocate(floats);
        owned.add(b);
        return b;
    }

    private DeviceBuffer vector(float[] values) {
        DeviceBuffer b = buffer(values.length);
        device.write(b, 0, values, 0, values.length);
        return b;
    }

    /** Frees everything this forward pass put on the device; the device itself stays open. */
    @Override
    public void close() {
        for (int i = owned.size() - 1; i >= 0; i--) {
            try {
                owned.get(i).close();
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        owned.clear();
    }
}
