package dev.tandem.runtime.device;

import dev.tandem.kernels.ScalarOps;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;

import java.util.List;
import java.util.Map;

/**
 * A test-only backend in about a hundred lines: the kernels' scalar references on heap arrays. It
 * is found through ServiceLoader (src/test/resources/META-INF/services) like any other, and passes
 * the conformance suite, which is what docs/writing-a-backend.md walks through.
 */
public final class ScalarTestBackend implements DeviceBackend {
    @Override public String name() { return "scalar-test"; }

    @Override public int priority() { return -10; } // never chosen automatically

    @Override public Availability probe() { return Availability.yes("test backend"); }

    @Override public List<Device> open() { return List.of(new ScalarDevice()); }

    record Buffer(float[] data) implements DeviceBuffer {
        @Override public long length() { return data.length; }

        @Override public void close() {}
    }

    record Weights(WeightMatrix m) implements DeviceWeights {
        @Override public WeightFormat format() { return m.format(); }

        @Override public int rows() { return m.rows(); }

        @Override public int cols() { return m.cols(); }

        @Override public void close() {}
    }

    static final class ScalarDevice implements Device {
        private static final long CAPACITY = 1L << 30;

        @Override
        public DeviceSpec spec() {
            return new DeviceSpec("scalar test device", DeviceKind.CPU, CAPACITY, 1e9,
                    Map.of(WeightFormat.F32, 1e9), 1, 0, Map.of());
        }

        @Override
        public DeviceBuffer allocate(long floats) {
            if (floats * 4 > CAPACITY) {
                throw new DeviceMemoryException("scalar test device", floats * 4, CAPACITY);
            }
            return new Buffer(new float[(int) floats]);
        }

        @Override public DeviceWeights upload(WeightMatrix weights) { return new Weights(weights); }

        @Override public boolean allowsConcurrentSessions() { return true; } // ops touch only their arguments

        @Override
        public void write(DeviceBuffer dst, long dstOffset, float[] src, int srcOffset, int length) {
            System.arraycopy(src, srcOffset, a(dst), (int) dstOffset, length);
        }

        @Override
        public void read(DeviceBuffer src, long srcOffset, float[] dst, int dstOffset, int length) {
            System.arraycopy(a(src), (int) srcOffset, dst, dstOffset, length);
        }

        @Override
        public void copy(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long length) {
            System.arraycopy(a(src), (int) srcOffset, a(dst), (int) dstOffset, (int) length);
        }

        @Override
        public void embed(DeviceWeights table, int[] tokens, DeviceBuffer out) {
            WeightMatrix m = ((Weights) table).m();
            for (int b = 0; b < tokens.length; b++) {
                m.dequantizeRow(tokens[b], a(out), b * m.cols());
            }
        }

        @Override
        public void matmul(DeviceWeights w, DeviceBuffer x, DeviceBuffer out, int batch) {
            WeightMatrix m = ((Weights) w).m();
            for (int b = 0; b < batch; b++) {
                for (int r = 0; r < m.rows(); r++) {
                    a(out)[b * m.rows() + r] = m.dotScalar(r, a(x), b * m.cols());
                }
            }
        }

        @Override
        public void rmsnorm(DeviceBuffer out, DeviceBuffer x, DeviceBuffer weight, int n, int batch, float eps) {
            for (int b = 0; b < batch; b++) {
                ScalarOps.rmsnorm(a(out), b * n, a(x), b * n, a(weight), n, eps);
            }
        }

        @Override
        public void rope(DeviceBuffer vec, int nHeads, int headDim, int pos0, int batch, DeviceBuffer invFreq) {
            for (int b = 0; b < batch; b++) {
                ScalarOps.rope(a(vec), b * nHeads * headDim, nHeads, headDim, pos0 + b, a(invFreq));
            }
        }

        @Override
        public void attention(DeviceBuffer out, DeviceBuffer q, DeviceBuffer keys, DeviceBuffer values,
                              int startPos, int batch, int nHeads, int nKvHeads, int headDim) {
            int width = nHeads * headDim;
            for (int b = 0; b < batch; b++) {
                ScalarOps.attention(a(out), b * width, a(q), b * width, a(keys), a(values), 0, startPos + b + 1,
                        nHeads, nKvHeads, headDim);
            }
        }

        @Override public void siluMul(DeviceBuffer gate, DeviceBuffer up, long n) { ScalarOps.siluMul(a(gate), 0, a(up), 0, (int) n); }

        @Override public void add(DeviceBuffer acc, DeviceBuffer x, long n) { ScalarOps.addInPlace(a(acc), 0, a(x), 0, (int) n); }

        @Override public void synchronize() {}

        @Override
        public DeviceEvent record() {
            long t = System.nanoTime();
            return earlier -> t;
        }

        @Override public void close() {}

        private static float[] a(DeviceBuffer b) { return ((Buffer) b).data(); }
    }
}
