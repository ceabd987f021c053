package dev.tandem.runtime.device;

import dev.tandem.runtime.model.LlamaConfig;

/**
 * The paged attention block every device gets for free, from the primitive ops: the step's rows go
 * through rmsnorm and the Q/K/V matmuls together; then each run of consecutive positions of one
 * sequence is roped, its keys and values copied into its slots of the pool, and attended over its
 * sequence's blocks gathered into a contiguous scratch cache (the primitive {@code attention} op
 * reads a contiguous cache). A device with a kernel that reads the blocks where they lie overrides
 * {@link Device#uploadPagedAttention}; this one costs a gather per run.
 */
final class PrimitivePagedAttention extends PrimitiveBlocks.Owned implements DevicePagedAttention {
    private final LlamaConfig c;
    private final KvPoolSpec pool;
    private final int maxRows, maxSequence;
    private DeviceWeights wq, wk, wv, wo;
    // norm (dim), invFreq (headDim/2); the pool's keys/values (pool positions, kvDim); a sequence's
    // gathered keys/values (maxSequence, kvDim); for maxRows rows: xb (dim), q/att (qDim), k/v (kvDim),
    // o (dim), and one run's q/att/k at offset 0 (qRun, attRun, kRun).
    private DeviceBuffer norm, invFreq, keys, values, seqKeys, seqValues, xb, q, k, v, att, o, qRun, attRun, kRun;
    private QkvOptions options;

    PrimitivePagedAttention(Device device, AttentionWeights w, KvPoolSpec pool, int maxRows) {
        super(device);
        if (maxRows < 1) {
            throw new IllegalArgumentException("maxRows must be >= 1, got " + maxRows);
        }
        this.c = w.config();
        this.pool = pool;
        this.maxRows = maxRows;
        this.maxSequence = maxSequence(c, pool);
        int qDim = c.nHeads() * c.headDim(), kvDim = c.kvDim();
        guard(() -> {
            wq = weights(w.wq());
            wk = weights(w.wk());
            wv = weights(w.wv());
            wo = weights(w.wo());
            norm = vector(w.norm());
            invFreq = vector(w.ropeInvFreq());
            keys = buffer((long) pool.positions() * kvDim);
            values = buffer((long) pool.positions() * kvDim);
            seqKeys = buffer((long) maxSequence * kvDim);
            seqValues = buffer((long) maxSequence * kvDim);
            xb = buffer((long) maxRows * c.dim());
            q = buffer((long) maxRows * qDim);
            k = buffer((long) maxRows * kvDim);
            v = buffer((long) maxRows * kvDim);
            att = buffer((long) maxRows * qDim);
            o = buffer((long) maxRows * c.dim());
            qRun = buffer((long) maxRows * qDim);
            attRun = buffer((long) maxRows * qDim);
            kRun = buffer((long) maxRows * kvDim);
            options = own(QkvOptions.upload(device, w, maxRows));
        });
    }

    /** The longest sequence the pool can hold: the model's context, or the pool if smaller. */
    private static int maxSequence(LlamaConfig c, KvPoolSpec pool) {
        return Math.min(c.contextLength(), pool.positions());
    }

    static long bytes(AttentionWeights w, KvPoolSpec pool, int maxRows) {
        LlamaConfig c = w.config();
        long qDim = (long) c.nHeads() * c.headDim();
        return QkvOptions.bytes(w, maxRows) + w.wq().byteSize() + w.wk().byteSize() + w.wv().byteSize() + w.wo().byteSize()
                + 4L * (c.dim() + c.headDim() / 2 + 2L * pool.positions() * c.kvDim() + 2L * maxSequence(c, pool) * c.kvDim()
                + (long) maxRows * (2L * c.dim() + 4 * qDim + 3L * c.kvDim()));
    }

    @Override
    public KvPoolSpec pool() { return pool; }

    @Override
    public int maxRows() { return maxRows; }

    @Override
    public void run(DeviceBuffer x, BatchRows rows) {
        rows.validate(pool, maxRows);
        int batch = rows.size(), kvDim = c.kvDim(), qDim = c.nHeads() * c.headDim(), hd = c.headDim();
        device.rmsnorm(xb, x, norm, c.dim(), batch, c.rmsEps());
        device.matmul(wq, xb, q, batch);
        device.matmul(wk, xb, k, batch);
        device.matmul(wv, xb, v, batch);
        options.apply(q, k, v, batch);
        // Every row's key and value goes into the pool before any row attends: a later run of the
        // same sequence in this step attends them.
        for (int start = 0; start < batch; ) {
            int end = rows.runEnd(start), n = end - start, pos0 = rows.positions()[start];
            device.copy(q, (long) start * qDim, qRun, 0, (long) n * qDim);
            device.rope(qRun, c.nHeads(), hd, pos0, n, invFreq);
            device.copy(qRun, 0, q, (long) start * qDim, (long) n * qDim);
            device.copy(k, (long) start * kvDim, kRun, 0, (long) n * kvDim);
            device.rope(kRun, c.nKvHeads(), hd, pos0, n, invFreq);
            int[] table = rows.blockTables()[start];
            for (int i = 0; i < n; i++) {
                long slot = (long) pool.slot(table, pos0 + i) * kvDim;
                device.copy(kRun, (long) i * kvDim, keys, slot, kvDim);
                device.copy(v, (long) (start + i) * kvDim, values, slot, kvDim);
            }
            start = end;
        }
        for (int start = 0; start < batch; ) {
            int end = rows.runEnd(start), n = end - start, pos0 = rows.positions()[start];
            gather(rows.blockTables()[start], pos0 + n);
            device.copy(q, (long) start * qDim, qRun, 0, (long) n * qDim);
            device.attention(attRun, qRun, seqKeys, seqValues, pos0, n, c.nHeads(), c.nKvHeads(), hd);
            device.copy(attRun, 0, att, (long) start * qDim, (long) n * qDim);
            start = end;
        }
        device.matmul(wo, att, o, batch);
        device.add(x, o, (long) batch * c.dim());
    }

    /** seqKeys/seqValues[0, positions) = the sequence's cached rows, block by block. */
    private void gather(int[] table, int positions) {
        if (positions > maxSequence) {
            throw new IllegalArgumentException("a sequence of " + positions + " positions exceeds the " + maxSequence
                    + " this block attends over");
        }
        int kvDim = c.kvDim(), bs = pool.blockSize();
        for (int p = 0; p < positions; p += bs) {
            int n = Math.min(bs, positions - p);
            long from = (long) table[p / bs] * bs * kvDim, to = (long) p * kvDim;
            device.copy(keys, from, seqKeys, to, (long) n * kvDim);
            device.copy(values, from, seqValues, to, (long) n * kvDim);
        }
    }

    @Override
    public void readKv(int[] table, int from, int count, float[] k, float[] v) {
        int kvDim = c.kvDim();
        for (int i = 0; i < count; i++) {
            long slot = (long) pool.slot(table, from + i) * kvDim;
            device.read(keys, slot, k, i * kvDim, kvDim);
            device.read(values, slot, v, i * kvDim, kvDim);
        }
    }

    @Override
    public void writeKv(int[] table, int from, int count, float[] k, float[] v) {
        int kvDim = c.kvDim();
        for (int i = 0; i < count; i++) {
            long slot = (long) pool.slot(table, from + i) * kvDim;
            device.write(keys, slot, k, i * kvDim, kvDim);
            device.write(values, slot, v, i * kvDim, kvDim);
        }
    }

    @Override
    public void close() { closeAll(); }
}
