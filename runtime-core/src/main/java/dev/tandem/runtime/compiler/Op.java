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
 */
public record Op(int layer, OpKind kind, Phase phase, String shape, long weightBytes, long weightBytesRead,
                 long kvBytes, long kvBytesRead, long activationBytes, double flops, int launches) {

    /** Bytes one run moves through device memory. */
    public long bytesMoved() { return weightBytesRead + kvBytesRead + 2 * activationBytes; }
}
