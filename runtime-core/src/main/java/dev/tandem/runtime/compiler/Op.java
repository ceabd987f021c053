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
 * @param rows             token rows one run processes (a prefill's prompts together; a decode step's sequences)
 * @param positions        KV positions each sequence holds when it runs: the prompt length in prefill,
 *                         the context in decode; what a profiled cost model rebuilds the op's kernels from
 * @param sequences        sequences one run serves (prefill runs each prompt on its own, in chunks)
 */
public record Op(int layer, OpKind kind, Phase phase, String shape, long weightBytes, long weightBytesRead,
                 long kvBytes, long kvBytesRead, long activationBytes, double flops, int launches,
                 int rows, int positions, int sequences) {

    /** An op without its run's shape (rows, positions and sequences unknown: -1): priced by bytes and FLOPs only. */
    public Op(int layer, OpKind kind, Phase phase, String shape, long weightBytes, long weightBytesRead,
              long kvBytes, long kvBytesRead, long activationBytes, double flops, int launches) {
        this(layer, kind, phase, shape, weightBytes, weightBytesRead, kvBytes, kvBytesRead, activationBytes, flops, launches, -1, -1, -1);
    }

    /** Whether rows, positions and sequences are known. */
    public boolean hasRunShape() { return rows > 0 && positions > 0 && sequences > 0; }

    /** Bytes one run moves through device memory. */
    public long bytesMoved() { return weightBytesRead + kvBytesRead + 2 * activationBytes; }
}
