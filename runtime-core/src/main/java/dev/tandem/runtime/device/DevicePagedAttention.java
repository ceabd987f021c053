package dev.tandem.runtime.device;

/**
 * An attention block resident on a device with a paged KV cache: its weights and a pool of
 * {@link KvPoolSpec#blocks()} blocks of {@link KvPoolSpec#blockSize()} positions, shared by every
 * sequence. Which blocks a sequence owns is the caller's bookkeeping (its block table); the block
 * only reads and writes the rows the tables name. Created by {@link Device#uploadPagedAttention}.
 *
 * <p>A row's result must not depend on which other rows share its step: the CPU device gives each
 * row exactly the bits a single-sequence {@link DeviceAttention} gives it.
 */
public interface DevicePagedAttention extends AutoCloseable {
    KvPoolSpec pool();

    /** Rows one {@link #run} takes at most. */
    int maxRows();

    /**
     * For each row i of x (rows.size(), dim), a buffer of this block's device: x[i] += Wo·attention
     * of rope(Wq·n) over its sequence's positions [0, positions[i]], with n = rmsnorm(x[i]); the
     * row's own key and value, rope(Wk·n) and Wv·n, are written into its sequence's slot first.
     *
     * @throws IllegalArgumentException when rows do not fit the pool or {@link #maxRows()}
     */
    void run(DeviceBuffer x, BatchRows rows);

    /**
     * Copies positions [from, from + count) of the sequence whose block table is table out of the
     * pool: keys and values (count, kvDim) each. How a sequence's cache moves between devices
     * (disaggregated prefill), block by block through the host.
     */
    void readKv(int[] table, int from, int count, float[] keys, float[] values);

    /** Writes keys and values (count, kvDim) into positions [from, from + count) of the sequence whose block table is table. */
    void writeKv(int[] table, int from, int count, float[] keys, float[] values);

    @Override
    void close();
}
