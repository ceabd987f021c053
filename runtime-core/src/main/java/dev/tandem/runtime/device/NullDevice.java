package dev.tandem.runtime.device;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;

/**
 * Accounts memory against its spec and accepts every op without computing anything. Reading data
 * back is refused: there is none.
 */
public final class NullDevice implements Device {
    private final DeviceSpec spec;
    private long allocatedBytes;

    public NullDevice(DeviceSpec spec) {
        this.spec = spec;
    }

    @Override
    public DeviceSpec spec() { return spec; }

    /** Bytes currently held by live buffers and weights. */
    public synchronized long allocatedBytes() { return allocatedBytes; }

    @Override
    public DeviceBuffer allocate(long floats) {
        long bytes = reserve(floats * Float.BYTES);
        return new DeviceBuffer() {
            private boolean freed;

            @Override
            public long length() { return floats; }

            @Override
            public void close() {
                if (!freed) {
                    freed = true;
                    release(bytes);
                }
            }
        };
    }

    @Override
    public DeviceWeights upload(WeightMatrix weights) {
        long bytes = reserve(weights.byteSize());
        WeightFormat format = weights.format();
        int rows = weights.rows(), cols = weights.cols();
        return new DeviceWeights() {
            private boolean freed;

            @Override
            public WeightFormat format() { return format; }

            @Override
            public int rows() { return rows; }

            @Override
            public int cols() { return cols; }

            @Override
            public void close() {
                if (!freed) {
                    freed = true;
                    release(bytes);
                }
            }
        };
    }

    private synchronized long reserve(long bytes) {
        if (bytes < 0 || bytes > spec.memoryBytes() - allocatedBytes) {
            throw new DeviceMemoryException(spec.name(), bytes, spec.memoryBytes() - allocatedBytes);
        }
        allocatedBytes += bytes;
        return bytes;
    }

    private synchronized void release(long bytes) {
        allocatedBytes -= bytes;
    }

    @Override
    public void write(DeviceBuffer dst, long dstOffset, float[] src, int srcOffset, int length) {}

    @Override
    public void read(DeviceBuffer src, long srcOffset, float[] dst, int dstOffset, int length) {
        throw new DeviceUnavailableException("the null device plans only: it holds no data to read");
    }

    @Override
    public void copy(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long length) {}

    @Override
    public void embed(DeviceWeights table, int[] tokens, DeviceBuffer out) {}

    @Override
    public void matmul(DeviceWeights w, DeviceBuffer x, DeviceBuffer out, int batch) {}

    @Override
    public void rmsnorm(DeviceBuffer out, DeviceBuffer x, DeviceBuffer weight, int n, int batch, float eps) {}

    @Override
    public void rope(DeviceBuffer vec, int nHeads, int headDim, int pos0, int batch, DeviceBuffer invFreq) {}

    @Override
    public void attention(DeviceBuffer out, DeviceBuffer q, DeviceBuffer keys, DeviceBuffer values,
                          int startPos, int batch, int nHeads, int nKvHeads, int headDim) {}

    @Override
    public void siluMul(DeviceBuffer gate, DeviceBuffer up, long n) {}

    @Override
    public void add(DeviceBuffer acc, DeviceBuffer x, long n) {}

    @Override
    public void synchronize() {}

    @Override
    public DeviceEvent record() {
        return earlier -> 0L;
    }

    @Override
    public void close() {}
}
