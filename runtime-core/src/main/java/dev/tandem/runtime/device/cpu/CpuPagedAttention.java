package dev.tandem.runtime.device.cpu;

import dev.tandem.kernels.Ops;
import dev.tandem.kernels.Parallel;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.device.AttentionWeights;
import dev.tandem.runtime.device.BatchRows;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DevicePagedAttention;
import dev.tandem.runtime.device.KvPoolSpec;
import dev.tandem.runtime.model.LlamaConfig;

/**
 * The CPU's paged attention block: the reference forward's attention block, with keys and values
 * read from the pool's blocks where they lie ({@link Ops#attentionPaged}). Every op computes a row
 * from that row alone in a fixed order (matmul rows equal matvec rows), so a row's bits are what
 * {@code ReferenceForward} gives the same token, whatever else shares the step.
 */
final class CpuPagedAttention implements DevicePagedAttention {
    private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;
    /** Fewest rows of the per-row prologue (options, rope, KV write) one pool task takes. */
    private static final int ROWS_PER_TASK = 4;

    private final LlamaConfig c;
    private final AttentionWeights w;
    private final KvPoolSpec pool;
    private final int maxRows;
    private final float[] keys, values;           // (pool positions, kvDim)
    private final float[] xb, q, k, v, att, o;    // (maxRows, dim | qDim | kvDim)
    /** Q, K and V read the same normalised rows: one {@link WeightMatrix#matmulEach} call. */
    private final WeightMatrix[] qkv;
    private final float[][] qkvOut;

    CpuPagedAttention(AttentionWeights w, KvPoolSpec pool, int maxRows) {
        if (maxRows < 1) {
            throw new IllegalArgumentException("maxRows must be >= 1, got " + maxRows);
        }
        this.c = w.config();
        this.w = w;
        this.pool = pool;
        this.maxRows = maxRows;
        long poolFloats = (long) pool.positions() * c.kvDim();
        if (poolFloats > MAX_ARRAY) {
            throw new IllegalArgumentException("a KV pool of " + pool.positions() + " positions x " + c.kvDim()
                    + " floats exceeds one Java array per layer; use fewer blocks");
        }
        int qDim = c.nHeads() * c.headDim();
        keys = new float[(int) poolFloats];
        values = new float[(int) poolFloats];
        xb = new float[maxRows * c.dim()];
        q = new float[maxRows * qDim];
        k = new float[maxRows * c.kvDim()];
        v = new float[maxRows * c.kvDim()];
        att = new float[maxRows * qDim];
        o = new float[maxRows * c.dim()];
        qkv = new WeightMatrix[] {w.wq(), w.wk(), w.wv()};
        qkvOut = new float[][] {q, k, v};
    }

    static long bytes(AttentionWeights w, KvPoolSpec pool, int maxRows) {
        LlamaConfig c = w.config();
        long qDim = (long) c.nHeads() * c.headDim();
        // Weights stay views of the model's mapping: only the pool and the scratch are new memory.
        return 4L * (2L * pool.positions() * c.kvDim() + (long) maxRows * (2L * c.dim() + 2 * qDim + 2L * c.kvDim()));
    }

    @Override
    public KvPoolSpec pool() { return pool; }

    @Override
    public int maxRows() { return maxRows; }

    @Override
    public void run(DeviceBuffer xBuffer, BatchRows rows) {
        rows.validate(pool, maxRows);
        float[] x = CpuDevice.array(xBuffer);
        int batch = rows.size(), dim = c.dim(), kvDim = c.kvDim(), hd = c.headDim(), qDim = c.nHeads() * hd;
        for (int b = 0; b < batch; b++) {
            Ops.rmsnorm(xb, b * dim, x, b * dim, w.norm(), dim, c.rmsEps());
        }
        WeightMatrix.matmulEach(qkv, xb, qkvOut, batch);
        // Rows are independent here (each writes its own q, k and KV slot): spread them over the
        // pool once there are enough to pay for the hand-off (rope's cos/sin are per row).
        Parallel.forRange(batch, ROWS_PER_TASK, (b0, b1) -> {
            for (int b = b0; b < b1; b++) {
                int pos = rows.positions()[b];
                w.qkvOptions(q, b * qDim, k, b * kvDim, v, b * kvDim);
                Ops.rope(q, b * qDim, c.nHeads(), hd, pos, w.ropeInvFreq());
                Ops.rope(k, b * kvDim, c.nKvHeads(), hd, pos, w.ropeInvFreq());
                int slot = pool.slot(rows.blockTables()[b], pos) * kvDim;
                System.arraycopy(k, b * kvDim, keys, slot, kvDim);
                System.arraycopy(v, b * kvDim, values, slot, kvDim);
            }
        });
        Ops.attentionPaged(att, q, keys, values, rows.positions(), rows.blockTables(), pool.blockSize(),
                c.nHeads(), c.nKvHeads(), hd);
        CpuDevice.matmul(w.wo(), att, o, batch);
        Ops.addInPlace(x, 0, o, 0, batch * dim);
    }

    @Override
    public void readKv(int[] table, int from, int count, float[] k, float[] v) {
        int kvDim = c.kvDim();
        for (int i = 0; i < count; i++) {
            int slot = pool.slot(table, from + i) * kvDim;
            System.arraycopy(keys, slot, k, i * kvDim, kvDim);
            System.arraycopy(values, slot, v, i * kvDim, kvDim);
        }
    }

    @Override
    public void writeKv(int[] table, int from, int count, float[] k, float[] v) {
        int kvDim = c.kvDim();
        for (int i = 0; i < count; i++) {
            int slot = pool.slot(table, from + i) * kvDim;
            System.arraycopy(k, i * kvDim, keys, slot, kvDim);
            System.arraycopy(v, i * kvDim, values, slot, kvDim);
        }
    }

    @Override
    public void close() {
        // Heap arrays and views of the model's mapping: nothing to free.
    }
}
