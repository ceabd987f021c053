package dev.tandem.runtime.exec;

import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceAttention;
import dev.tandem.runtime.device.DeviceFfn;
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
    private final DeviceAttention[] attention;
    private final DeviceFfn[] ffn;
    // finalNorm (dim); x: the residual of a chunk, (chunk, dim); last (1, dim); logits (vocab).
    private final DeviceBuffer finalNorm, x, last, logitsBuffer;
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
        long needed = footprintBytes(device, config, weights, ropeInvFreq, maxPositions, prefillChunk);
        device.requireCapacity("the model (weights, KV cache of " + maxPositions + " positions and scratch)", needed);
        int layers = config.nLayers(), dim = config.dim();
        attention = new DeviceAttention[layers];
        ffn = new DeviceFfn[layers];
        try {
            Map<WeightMatrix, DeviceWeights> uploaded = new IdentityHashMap<>();
            embedding = upload(uploaded, weights.tokenEmbedding());
            output = upload(uploaded, weights.output()); // tied output reuses the embedding upload
            for (int l = 0; l < layers; l++) {
                attention[l] = own(device.uploadAttention(LayerBlocks.attention(config, weights, ropeInvFreq, l), maxPositions, chunk));
                ffn[l] = own(device.uploadFfn(LayerBlocks.ffn(config, weights, l), chunk));
            }
            finalNorm = vector(weights.finalNorm());
            x = buffer((long) chunk * dim);
            last = buffer(dim);
            logitsBuffer = buffer(config.vocabSize());
            logits = new float[config.vocabSize()];
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Bytes this forward pass would hold on a device. */
    public static long footprintBytes(Device device, LlamaConfig c, LlamaWeights w, float[] ropeInvFreq, int maxPositions, int chunk) {
        long total = w.tokenEmbedding().byteSize() + (w.output() == w.tokenEmbedding() ? 0 : w.output().byteSize());
        for (int l = 0; l < c.nLayers(); l++) {
            total += device.attentionBytes(LayerBlocks.attention(c, w, ropeInvFreq, l), maxPositions, chunk)
                    + device.ffnBytes(LayerBlocks.ffn(c, w, l), chunk);
        }
        return total + ((long) chunk * c.dim() + 2L * c.dim() + c.vocabSize()) * Float.BYTES;
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
        int batch = tokens.length;
        device.embed(embedding, tokens, x);
        for (int l = 0; l < c.nLayers(); l++) {
            attention[l].run(x, pos0, batch);
            ffn[l].run(x, batch);
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

    private <T extends AutoCloseable> T own(T block) {
        owned.add(block);
        return block;
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
