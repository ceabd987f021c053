package dev.tandem.runtime.device.cpu;

import dev.tandem.kernels.Ops;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.device.AttentionWeights;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DevicePagedAttention;
import dev.tandem.runtime.device.KvPoolSpec;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceEvent;
import dev.tandem.runtime.device.DeviceFfn;
import dev.tandem.runtime.device.FfnWeights;
import dev.tandem.runtime.device.DeviceMemoryException;
import dev.tandem.runtime.device.DeviceSpec;
import dev.tandem.runtime.device.DeviceWeights;

/**
 * The host CPU as a {@link Device}: buffers are heap float arrays, weights stay zero-copy views of
 * the mapped file, and every op is the kernels module's, run synchronously on the caller's thread
 * plus the kernel pool. So this device computes exactly what {@code ReferenceForward} computes.
 */
final class CpuDevice implements Device {
    /** One Java array holds at most this many floats. */
    private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

    private boolean closed;

    @Override
    public DeviceSpec spec() { return HostSpec.get(); }

    @Override
    public DeviceBuffer allocate(long floats) {
        ensureOpen();
        if (floats < 0) {
            throw new IllegalArgumentException("buffer length must be >= 0, got " + floats);
        }
        Runtime rt = Runtime.getRuntime();
        long available = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        long bytes = floats * Float.BYTES;
        if (floats > MAX_ARRAY || bytes > available) {
            throw new DeviceMemoryException("cpu (Java heap)", bytes, Math.min(available, MAX_ARRAY * Float.BYTES));
        }
        return new CpuBuffer(new float[(int) floats]);
    }

    @Override
    public DeviceWeights upload(WeightMatrix weights) {
        ensureOpen();
        return new CpuWeights(weights);
    }

    @Override
    public void write(DeviceBuffer dst, long dstOffset, float[] src, int srcOffset, int length) {
        System.arraycopy(src, srcOffset, array(dst), Math.toIntExact(dstOffset), length);
    }

    @Override
    public void read(DeviceBuffer src, long srcOffset, float[] dst, int dstOffset, int length) {
        System.arraycopy(array(src), Math.toIntExact(srcOffset), dst, dstOffset, length);
    }

    @Override
    public void copy(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long length) {
        System.arraycopy(array(src), Math.toIntExact(srcOffset), array(dst), Math.toIntExact(dstOffset), Math.toIntExact(length));
    }

    @Override
    public void embed(DeviceWeights table, int[] tokens, DeviceBuffer out) {
        WeightMatrix w = matrix(table);
        float[] o = array(out);
        for (int b = 0; b < tokens.length; b++) {
            w.dequantizeRow(tokens[b], o, b * w.cols());
        }
    }

    @Override
    public void matmul(DeviceWeights w, DeviceBuffer x, DeviceBuffer out, int batch) {
        matmul(matrix(w), array(x), array(out), batch);
    }

    /** One row is a matvec (decode's kernel), more a matmul; both give every row the same bits. */
    static void matmul(WeightMatrix m, float[] x, float[] out, int batch) {
        if (batch == 1) {
            m.matvec(x, 0, out, 0);
        } else {
            m.matmul(x, out, batch);
        }
    }

    @Override
    public void rmsnorm(DeviceBuffer out, DeviceBuffer x, DeviceBuffer weight, int n, int batch, float eps) {
        float[] o = array(out), in = array(x), w = array(weight);
        for (int b = 0; b < batch; b++) {
            Ops.rmsnorm(o, b * n, in, b * n, w, n, eps);
        }
    }

    @Override
    public void rope(DeviceBuffer vec, int nHeads, int headDim, int pos0, int batch, DeviceBuffer invFreq) {
        float[] v = array(vec), f = array(invFreq);
        int width = nHeads * headDim;
        for (int b = 0; b < batch; b++) {
            Ops.rope(v, b * width, nHeads, headDim, pos0 + b, f);
        }
    }

    @Override
    public void attention(DeviceBuffer out, DeviceBuffer q, DeviceBuffer keys, DeviceBuffer values,
                          int startPos, int batch, int nHeads, int nKvHeads, int headDim) {
        if (batch == 1) {
            Ops.attention(array(out), 0, array(q), 0, array(keys), array(values), 0, startPos + 1, nHeads, nKvHeads, headDim);
        } else {
            Ops.attentionPrefill(array(out), array(q), array(keys), array(values), 0, startPos, batch, nHeads, nKvHeads, headDim);
        }
    }

    @Override
    public void siluMul(DeviceBuffer gate, DeviceBuffer up, long n) {
        Ops.siluMul(array(gate), 0, array(up), 0, Math.toIntExact(n));
    }

    @Override
    public void add(DeviceBuffer acc, DeviceBuffer x, long n) {
        Ops.addInPlace(array(acc), 0, array(x), 0, Math.toIntExact(n));
    }

    /** Attention straight over the pool's blocks, each row exactly as the single-sequence path computes it. */
    @Override
    public DevicePagedAttention uploadPagedAttention(AttentionWeights w, KvPoolSpec pool, int maxRows) {
        ensureOpen();
        return new CpuPagedAttention(w, pool, maxRows);
    }

    /** W1 and W3 in one pass over the kernels' pool; the same values as the primitive ops' FFN. */
    @Override
    public DeviceFfn uploadFfn(FfnWeights w, int maxBatch) {
        ensureOpen();
        return new CpuFfn(w, maxBatch);
    }

    @Override
    public long pagedAttentionBytes(AttentionWeights w, KvPoolSpec pool, int maxRows) {
        return CpuPagedAttention.bytes(w, pool, maxRows);
    }

    /** Ops touch only their arguments, and the kernels' thread pool takes concurrent callers. */
    @Override
    public boolean allowsConcurrentSessions() {
        return true;
    }

    @Override
    public void synchronize() {
        // Every op above has finished when it returns.
    }

    @Override
    public DeviceEvent record() {
        return new CpuEvent(System.nanoTime());
    }

    @Override
    public void close() {
        closed = true;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the cpu device is closed");
        }
    }

    static float[] array(DeviceBuffer b) {
        return ((CpuBuffer) b).data;
    }

    private static WeightMatrix matrix(DeviceWeights w) {
        return ((CpuWeights) w).matrix;
    }

    private record CpuEvent(long nanos) implements DeviceEvent {
        @Override
        public long nanosSince(DeviceEvent earlier) { return nanos - ((CpuEvent) earlier).nanos; }
    }

    private record CpuBuffer(float[] data) implements DeviceBuffer {
        @Override
        public long length() { return data.length; }

        @Override
        public void close() {
            // Heap memory: the collector frees it.
        }
    }

    private record CpuWeights(WeightMatrix matrix) implements DeviceWeights {
        @Override
        public WeightFormat format() { return matrix.format(); }

        @Override
        public int rows() { return matrix.rows(); }

        @Override
        public int cols() { return matrix.cols(); }

        @Override
        public void close() {
            // A view of the caller's mapping; the model owns it.
        }
    }
}
