package dev.tandem.runtime.compiler;

/**
 * One placeable op of one phase, for a given workload: what it keeps resident and what one run of it
 * moves and computes. Bytes are what the cost model charges against memory bandwidth.
 *
 * @param layer            transformer block, or -1 for the embedding and nLayers for the head
 * @param kind             what the op is
 * @param phase            prefill or decode
 * @param shape            human-readable shapes, e.g. "x[1,4096] wq[4096,4096] kv[4096]"
 * @param weightBytes      resident weights (every MoE expert counted)
 * @param weightBytesRead  weights one run reads (a decode step reads only the experts it routes to)
 * @param kvBytes          resident KV cache this op owns (attention only)
 * @param kvBytesRead      KV bytes one run reads or writes
 * @param activationBytes  the hidden state leaving the op (f16), what crosses a link between devices
 * @param flops            floating-point operations of one run (a multiply-add counts 2)
 * @param launches         kernels a GPU or CPU launches for it (each pays the launch overhead)
 * @param batchShape       its rows by sequence and position, and the KV cache's layout: what an exact
 *                         device cost (an emulated LPU's attention cycles) and a profiled cost model
 *                         rebuild the op's kernels from; null when unknown (priced by bytes and FLOPs only)
 */
public record Op(int layer, OpKind kind, Phase phase, String shape, long weightBytes, long weightBytesRead,
                 long kvBytes, long kvBytesRead, long activationBytes, double flops, int launches, BatchShape batchShape) {

    /** An op without its run's shape: priced by bytes and FLOPs only. */
    public Op(int layer, OpKind kind, Phase phase, String shape, long weightBytes, long weightBytesRead,
              long kvBytes, long kvBytesRead, long activationBytes, double flops, int launches) {
        this(layer, kind, phase, shape, weightBytes, weightBytesRead, kvBytes, kvBytesRead, activationBytes, flops, launches, null);
    }

    /** The same op over other rows (those an executor ran), its bytes and FLOPs left as the workload's. */
    public Op withBatchShape(BatchShape rows) {
        return new Op(layer, kind, phase, shape, weightBytes, weightBytesRead, kvBytes, kvBytesRead, activationBytes, flops,
                launches, rows);
    }

    /** Whether the run's rows and positions are known. */
    public boolean hasRunShape() { return batchShape != null && !batchShape.runs().isEmpty(); }

    /** Sequences one run serves (prefill runs each prompt on its own, in chunks). */
    public int sequences() { return batchShape.runs().size(); }

    /** Token rows one run processes: every row of every run, but only each sequence's last for the head (logits). */
    public int rows() { return kind == OpKind.HEAD ? sequences() : batchShape.rows(); }

    /** KV positions the longest sequence holds once the run is written: the prompt in prefill, the context in decode. */
    public int positions() { return batchShape.runs().stream().mapToInt(BatchShape.Run::positions).max().orElse(0); }

    /** Bytes one run moves through device memory. */
    public long bytesMoved() { return weightBytesRead + kvBytesRead + 2 * activationBytes; }
}
