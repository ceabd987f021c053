package dev.tandem.runtime.engine;

import dev.tandem.runtime.device.BatchRows;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceClaim;
import dev.tandem.runtime.device.DeviceFfn;
import dev.tandem.runtime.device.DevicePagedAttention;
import dev.tandem.runtime.device.DeviceWeights;
import dev.tandem.runtime.device.KvPoolSpec;
import dev.tandem.runtime.exec.LayerBlocks;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.LlamaWeights;

import java.util.ArrayList;
import java.util.List;

/**
 * The model on one device for batches of rows from many sequences: the embedding, per layer a
 * {@link DevicePagedAttention} over the shared KV pool and a {@link DeviceFfn}, and the head for the
 * rows whose logits are wanted. The same ops in the same order as the reference forward pass, per row.
 * Not thread-safe: the engine's step thread owns it.
 */
final class BatchForward implements StepForward {
    private final Device device;
    private final LlamaConfig c;
    private final int maxRows, maxHeads;
    private final DeviceClaim claim;
    private final List<AutoCloseable> owned = new ArrayList<>();
    private final DevicePagedAttention[] attention;
    private final DeviceFfn[] ffn;
    private DeviceWeights embedding, output;
    private DeviceBuffer x, finalNorm, heads, logits; // (maxRows, dim), (dim), (maxHeads, dim), (maxHeads, vocab)

    BatchForward(Device device, LlamaConfig c, LlamaWeights w, float[] ropeInvFreq, KvPoolSpec pool, int maxRows, int maxHeads) {
        this.device = device;
        this.c = c;
        this.maxRows = maxRows;
        this.maxHeads = maxHeads;
        this.attention = new DevicePagedAttention[c.nLayers()];
        this.ffn = new DeviceFfn[c.nLayers()];
        long bytes = w.tokenEmbedding().byteSize() + w.output().byteSize()
                + 4L * ((long) maxRows * c.dim() + c.dim() + (long) maxHeads * (c.dim() + c.vocabSize()));
        for (int l = 0; l < c.nLayers(); l++) {
            bytes += device.pagedAttentionBytes(LayerBlocks.attention(c, w, ropeInvFreq, l), pool, maxRows)
                    + LayerBlocks.ffnBytes(device, c, w, l, maxRows);
        }
        device.requireCapacity("the engine's model, KV pool of " + pool.positions() + " positions and " + maxRows
                + "-row scratch", bytes);
        this.claim = DeviceClaim.take(device);
        try {
            embedding = own(device.upload(w.tokenEmbedding()));
            output = own(device.upload(w.output()));
            x = own(device.allocate((long) maxRows * c.dim()));
            finalNorm = own(device.allocate(c.dim()));
            device.write(finalNorm, 0, w.finalNorm(), 0, c.dim());
            heads = own(device.allocate((long) maxHeads * c.dim()));
            logits = own(device.allocate((long) maxHeads * c.vocabSize()));
            for (int l = 0; l < c.nLayers(); l++) {
                attention[l] = own(device.uploadPagedAttention(LayerBlocks.attention(c, w, ropeInvFreq, l), pool, maxRows));
                ffn[l] = own(LayerBlocks.uploadFfn(device, c, w, l, maxRows));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private <T extends AutoCloseable> T own(T resource) {
        owned.add(resource);
        return resource;
    }

    @Override
    public float[] step(Scheduler.Step step) {
        return step(step.tokens(), step.rows(), step.logitRows());
    }

    /**
     * Runs tokens at rows and returns the logits of rows logitRows, (logitRows.length, vocab) in a
     * fresh array.
     */
    float[] step(int[] tokens, BatchRows rows, int[] logitRows) {
        int batch = tokens.length, dim = c.dim(), vocab = c.vocabSize();
        if (batch > maxRows || logitRows.length > maxHeads) {
            throw new IllegalArgumentException("a step of " + batch + " rows and " + logitRows.length
                    + " logits exceeds the engine's " + maxRows + " rows and " + maxHeads + " sequences");
        }
        device.embed(embedding, tokens, x);
        for (int l = 0; l < c.nLayers(); l++) {
            attention[l].run(x, rows);
            ffn[l].run(x, batch);
        }
        float[] out = new float[logitRows.length * vocab];
        if (logitRows.length == 0) {
            return out;
        }
        for (int i = 0; i < logitRows.length; i++) {
            device.copy(x, (long) logitRows[i] * dim, heads, (long) i * dim, dim);
        }
        device.rmsnorm(heads, heads, finalNorm, dim, logitRows.length, c.rmsEps());
        device.matmul(output, heads, logits, logitRows.length);
        device.read(logits, 0, out, 0, out.length);
        return out;
    }

    @Override
    public void close() {
        for (int i = owned.size() - 1; i >= 0; i--) {
            try {
                owned.get(i).close();
            } catch (Exception e) {
                // Best effort: the device frees everything when it closes.
            }
        }
        owned.clear();
        if (claim != null) {
            claim.close();
        }
    }
}
