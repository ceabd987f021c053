package dev.tandem.runtime.device;

import dev.tandem.kernels.WeightMatrix;

/**
 * One device and the transformer's op set on its memory. Ops are enqueued in order on one queue
 * and may run asynchronously; {@link #read} and {@link #synchronize} wait for what came before.
 * Buffers are F32 and addressed in floats; "rows" below are contiguous, so a batch of B vectors of
 * width n is B*n floats.
 *
 * The contract is deliberately small: the ten ops a Llama forward pass needs, not a tensor library,
 * and two blocks built from them that a device may compile as a whole.
 * Each op must match the kernels module's scalar reference ({@code ScalarOps}, {@code dotScalar}).
 *
 * <p>Threads: one forward pass (a session, or one stage of a plan) calls a device from one thread at
 * a time. Whether two forward passes may use one device at once, each from its own thread with its
 * own blocks and buffers, is the device's to say ({@link #allowsConcurrentSessions()}); the runtime
 * claims a device for each forward pass that opens on it ({@link DeviceClaim}) and refuses a second
 * claim on a device that does not allow it with {@link DeviceBusyException}, before anything is
 * placed. Opening, closing and {@link #report()} are not meant to race with running ops.
 */
public interface Device extends AutoCloseable {
    DeviceSpec spec();

    /**
     * Whether several forward passes may run on this device at the same time, each on its own thread
     * with its own blocks and buffers, and each get the results it would get alone. False unless a
     * device says so: a backend whose ops share mutable state (one command queue's kernel arguments,
     * an emulator's memory and counters) runs one session at a time.
     */
    default boolean allowsConcurrentSessions() {
        return false;
    }

    // ---- memory ----

    /** @throws DeviceMemoryException when the device cannot hold floats*4 more bytes */
    DeviceBuffer allocate(long floats);

    /** Places a weight matrix on the device in its own format (the host CPU may keep a zero-copy view). */
    DeviceWeights upload(WeightMatrix weights);

    /** dst[dstOffset, +length) = src[srcOffset, +length) */
    void write(DeviceBuffer dst, long dstOffset, float[] src, int srcOffset, int length);

    /** Waits for queued work, then dst[dstOffset, +length) = src[srcOffset, +length). */
    void read(DeviceBuffer src, long srcOffset, float[] dst, int dstOffset, int length);

    /** Device-side copy of length floats. */
    void copy(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long length);

    /**
     * Fails before anything is uploaded when bytes of model state (what) cannot fit. Devices that
     * can say more override it: the LPU says how many chips would hold the model.
     * @throws DeviceMemoryException when bytes exceed what the device holds
     */
    default void requireCapacity(String what, long bytes) {
        if (bytes > spec().memoryBytes()) {
            throw new DeviceMemoryException(spec().name() + " cannot hold " + what, bytes, spec().memoryBytes());
        }
    }

    // ---- ops ----

    /** out[b] = table[tokens[b]] dequantized, for each b: a (tokens.length, cols) gather. */
    void embed(DeviceWeights table, int[] tokens, DeviceBuffer out);

    /** out[b, r] = sum_j W[r, j] * x[b, j] for b in [0, batch): batch 1 is a matvec. */
    void matmul(DeviceWeights w, DeviceBuffer x, DeviceBuffer out, int batch);

    /** Per row b: out[b] = x[b] / sqrt(mean(x[b]^2) + eps) * weight; out may be x. */
    void rmsnorm(DeviceBuffer out, DeviceBuffer x, DeviceBuffer weight, int n, int batch, float eps);

    /** Rotates adjacent pairs of nHeads heads in each row b at position pos0 + b (angles pos * invFreq[i]). */
    void rope(DeviceBuffer vec, int nHeads, int headDim, int pos0, int batch, DeviceBuffer invFreq);

    /**
     * Causal GQA attention for rows b in [0, batch) at positions startPos + b over keys/values of
     * (maxPositions, nKvHeads*headDim), positions [0, startPos + b] valid. q and out are
     * (batch, nHeads*headDim).
     */
    void attention(DeviceBuffer out, DeviceBuffer q, DeviceBuffer keys, DeviceBuffer values,
                   int startPos, int batch, int nHeads, int nKvHeads, int headDim);

    /** gate[i] = silu(gate[i]) * up[i] for i in [0, n). */
    void siluMul(DeviceBuffer gate, DeviceBuffer up, long n);

    /** acc[i] += x[i] for i in [0, n). */
    void add(DeviceBuffer acc, DeviceBuffer x, long n);

    // ---- blocks ----
    // A transformer layer is two blocks, each a handle that runs itself. The defaults run them as
    // the primitive ops above, in the reference's order; a device that compiles whole blocks (the
    // LPU: one static program each, its weights split over its chips) returns its own handles.

    /**
     * Places an attention block and a KV cache of maxPositions positions, with scratch for maxBatch
     * rows; {@link DeviceAttention#run} runs it.
     */
    default DeviceAttention uploadAttention(AttentionWeights w, int maxPositions, int maxBatch) {
        return new PrimitiveBlocks.Attention(this, w, maxPositions, maxBatch);
    }

    /** Places an FFN block with scratch for maxBatch rows; {@link DeviceFfn#run} runs it. */
    default DeviceFfn uploadFfn(FfnWeights w, int maxBatch) {
        return new PrimitiveBlocks.Ffn(this, w, maxBatch);
    }

    /**
     * Places a mixture-of-experts FFN block with scratch for maxBatch rows; {@link DeviceFfn#run} runs
     * it (x[b] += the mixture of rmsnorm(x[b]), see {@link MoeFfnWeights}). The default composes the
     * primitive ops: the router's matmul on the device, the routing on the host (the router logits
     * are read back), each chosen expert as an FFN over the rows that chose it, gathered by device
     * copies, and the weighted sum on the host. A device that routes on its own returns its handle.
     */
    default DeviceFfn uploadMoeFfn(MoeFfnWeights w, int maxBatch) {
        return new PrimitiveMoeFfn(this, w, maxBatch);
    }

    /** Bytes {@link #uploadMoeFfn} places. */
    default long moeFfnBytes(MoeFfnWeights w, int maxBatch) {
        return PrimitiveMoeFfn.bytes(w, maxBatch);
    }

    /**
     * Places an attention block whose KV cache is a pool of fixed-size blocks shared by many
     * sequences, and scratch for maxRows rows per step; {@link DevicePagedAttention#run} runs a step
     * whose rows come from different sequences at their own positions. The default is the primitive
     * ops with a gather of each sequence's blocks; a device may read the blocks where they lie.
     */
    default DevicePagedAttention uploadPagedAttention(AttentionWeights w, KvPoolSpec pool, int maxRows) {
        return new PrimitivePagedAttention(this, w, pool, maxRows);
    }

    /** Bytes {@link #uploadPagedAttention} places, for capacity checks before anything is uploaded. */
    default long pagedAttentionBytes(AttentionWeights w, KvPoolSpec pool, int maxRows) {
        return PrimitivePagedAttention.bytes(w, pool, maxRows);
    }

    /** Bytes {@link #uploadAttention} places, for capacity checks before anything is uploaded. */
    default long attentionBytes(AttentionWeights w, int maxPositions, int maxBatch) {
        return PrimitiveBlocks.attentionBytes(w, maxPositions, maxBatch);
    }

    /** Bytes {@link #uploadFfn} places. */
    default long ffnBytes(FfnWeights w, int maxBatch) {
        return PrimitiveBlocks.ffnBytes(w, maxBatch);
    }

    // ---- queue ----

    /** Blocks until every enqueued op has finished. */
    void synchronize();

    /** Marks the current end of the queue, for timing what runs between two marks. */
    DeviceEvent record();

    /**
     * A line about what the device did, for the CLI to print after a run (an emulator's cycles per
     * token, say). Empty by default.
     */
    default java.util.Optional<String> report() {
        return java.util.Optional.empty();
    }

    /** Releases everything this device allocated. */
    @Override
    void close();
}
