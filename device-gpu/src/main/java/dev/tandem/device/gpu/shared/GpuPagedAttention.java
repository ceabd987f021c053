package dev.tandem.device.gpu.shared;

import dev.tandem.runtime.device.AttentionWeights;
import dev.tandem.runtime.device.BatchRows;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DevicePagedAttention;
import dev.tandem.runtime.device.DeviceWeights;
import dev.tandem.runtime.device.KvPoolSpec;
import dev.tandem.runtime.device.QkvOptions;
import dev.tandem.runtime.model.LlamaConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * The GPU backends' paged attention block (OpenCL and CUDA share it; each brings its attention_paged
 * kernel as a {@link Kernel}): the step's rows through rmsnorm and the Q/K/V matmuls together,
 * the architecture's options on them (Qwen2's QKV biases, Qwen3's QK-norm and head width, as
 * {@link QkvOptions}), each run of consecutive positions of one sequence roped, its keys and values copied into their
 * slots of the pool, then ONE attention_paged kernel for all rows, reading every sequence's keys and
 * values through its block table where they lie (no per-sequence gather), then Wo and the residual.
 */
public final class GpuPagedAttention implements DevicePagedAttention {
    /** The device's attention_paged: each row of q over its own sequence through its block table (rows validated). */
    @FunctionalInterface
    public interface Kernel {
        void run(DeviceBuffer out, DeviceBuffer q, DeviceBuffer keys, DeviceBuffer values, BatchRows rows,
                 KvPoolSpec pool, int nHeads, int nKvHeads, int headDim);
    }

    private final Device device;
    private final Kernel kernel;
    private final LlamaConfig c;
    private final KvPoolSpec pool;
    private final int maxRows;
    private final List<AutoCloseable> owned = new ArrayList<>();
    private DeviceWeights wq, wk, wv, wo;
    // norm (dim), invFreq (headDim/2); the pool's keys/values (pool positions, kvDim); for maxRows rows:
    // xb (dim), q/att (qDim), k/v (kvDim), o (dim); one run's q/k at offset 0 for rope (qRun, kRun).
    private DeviceBuffer norm, invFreq, keys, values, xb, q, k, v, att, o, qRun, kRun;
    private QkvOptions options;

    public GpuPagedAttention(Device device, Kernel kernel, AttentionWeights w, KvPoolSpec pool, int maxRows) {
        if (maxRows < 1) {
            throw new IllegalArgumentException("maxRows must be >= 1, got " + maxRows);
        }
        this.device = device;
        this.kernel = kernel;
        this.c = w.config();
        this.pool = pool;
        this.maxRows = maxRows;
        int qDim = c.nHeads() * c.headDim(), kvDim = c.kvDim();
        try {
            wq = own(device.upload(w.wq()));
            wk = own(device.upload(w.wk()));
            wv = own(device.upload(w.wv()));
            wo = own(device.upload(w.wo()));
            norm = buffer(c.dim());
            device.write(norm, 0, w.norm(), 0, c.dim());
            invFreq = buffer(c.headDim() / 2);
            device.write(invFreq, 0, w.ropeInvFreq(), 0, c.headDim() / 2);
            keys = buffer((long) pool.positions() * kvDim);
            values = buffer((long) pool.positions() * kvDim);
            xb = buffer((long) maxRows * c.dim());
            q = buffer((long) maxRows * qDim);
            k = buffer((long) maxRows * kvDim);
            v = buffer((long) maxRows * kvDim);
            att = buffer((long) maxRows * qDim);
            o = buffer((long) maxRows * c.dim());
            qRun = buffer((long) maxRows * qDim);
            kRun = buffer((long) maxRows * kvDim);
            options = own(QkvOptions.upload(device, w, maxRows));
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    public static long bytes(AttentionWeights w, KvPoolSpec pool, int maxRows) {
        LlamaConfig c = w.config();
        long qDim = (long) c.nHeads() * c.headDim();
        return QkvOptions.bytes(w, maxRows) + w.wq().byteSize() + w.wk().byteSize() + w.wv().byteSize() + w.wo().byteSize()
                + 4L * (c.dim() + c.headDim() / 2 + 2L * pool.positions() * c.kvDim()
                + (long) maxRows * (2L * c.dim() + 3 * qDim + 3L * c.kvDim()));
    }

    private <T extends AutoCloseable> T own(T resource) {
        owned.add(resource);
        return resource;
    }

    private DeviceBuffer buffer(long floats) { return own(device.allocate(floats)); }

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
        for (int start = 0; start < batch; ) {
            int end = rows.runEnd(start), n = end - start, pos0 = rows.positions()[start];
            device.copy(q, (long) start * qDim, qRun, 0, (long) n * qDim);
            device.rope(qRun, c.nHeads(), hd, pos0, n, invFreq);
            device.copy(qRun, 0, q, (long) start * qDim, (long) n * qDim);
            device.copy(k, (long) start * kvDim, kRun, 0, (long) n * kvDim);
            device.rope(kRun, c.nKvHeads(), hd, pos0, n, invFreq);
            int[] table = rows.blockTables()[start];
            // A run's rows fill whole stretches of a block: one copy per block it touches.
            for (int i = 0; i < n; ) {
                int pos = pos0 + i, inBlock = Math.min(n - i, pool.blockSize() - pos % pool.blockSize());
                long slot = (long) pool.slot(table, pos) * kvDim;
                device.copy(kRun, (long) i * kvDim, keys, slot, (long) inBlock * kvDim);
                device.copy(v, (long) (start + i) * kvDim, values, slot, (long) inBlock * kvDim);
                i += inBlock;
            }
            start = end;
        }
        kernel.run(att, q, keys, values, rows, pool, c.nHeads(), c.nKvHeads(), hd);
        device.matmul(wo, att, o, batch);
        device.add(x, o, (long) batch * c.dim());
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
    public void close() {
        for (int i = owned.size() - 1; i >= 0; i--) {
            try {
                owned.get(i).close();
            } catch (Exception e) {
                // Best effort: the device releases every allocation when it closes.
            }
        }
        owned.clear();
    }
}
