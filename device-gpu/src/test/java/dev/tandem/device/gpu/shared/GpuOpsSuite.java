package dev.tandem.device.gpu.shared;

import dev.tandem.kernels.KernelConfig;
import dev.tandem.kernels.Ops;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceWeights;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every op of a GPU backend (OpenClOpsTest, CudaOpsTest) against {@link ScalarReference} and, where
 * the kernels promise it, the host's bits, on fresh random inputs with odd sizes. The seed is
 * printed in each failure message so a failure can be replayed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class GpuOpsSuite {
    protected Device device;
    private final long seed = System.nanoTime();
    private final Random random = new Random(seed);

    /** The backend's first device, opened with the host's activation mode (or the test skipped/failed with the reason). */
    protected abstract Device openDevice();

    /** The same device opened for fp32 activations in its Q8_0/Q4_0 matmuls (the host's tandem.quantDot=float). */
    protected abstract Device openFloatActivationDevice();

    /** The formats the backend's kernels compute. */
    protected abstract Set<WeightFormat> supportedFormats();

    /** The formats with an integer-dot matmul. */
    protected abstract Set<WeightFormat> integerDotFormatSet();

    /** Whether rmsnorm, rope, attention and silu_mul give the host's bits (false: within 1e-4 of them). */
    protected abstract boolean hostBits();

    @BeforeAll
    void open() { device = openDevice(); }

    @AfterAll
    void close() { if (device != null) device.close(); }

    // ---- matmul ----

    /** The formats the kernels compute; the others are refused at upload (the conformance suite checks that). */
    Set<WeightFormat> formats() {
        return supportedFormats();
    }

    /** Whether the host multiplies format with 8-bit activations (tandem.quantDot=int8, its default), and so must the device. */
    private boolean integerDot(WeightFormat format) {
        return KernelConfig.integerDot() && integerDotFormatSet().contains(format);
    }

    @ParameterizedTest
    @MethodSource("formats")
    void matmulMatchesReference(WeightFormat format) {
        int[] colsList = format.blockSize() == 1 ? new int[] {1, 7, 1001} : new int[] {32 * 3, 4128};
        for (int cols : colsList) {
            for (int rows : new int[] {1, 3, 17, 255}) {
                for (int batch : new int[] {1, 5}) {
                    float[] x = ScalarReference.randomVector(batch * cols, random);
                    if (integerDot(format)) checkMatmulIsTheHosts(format, rows, cols, batch, x, (rows + cols) % 2 == 0);
                    else checkMatmul(device, format, rows, cols, batch, x, (rows + cols) % 2 == 0);
                }
            }
        }
    }

    /** The fp32-activation Q8_0/Q4_0 kernels (what a device runs under tandem.quantDot=float), on a device opened for them. */
    @ParameterizedTest
    @MethodSource("integerDotFormats")
    void floatActivationMatmulMatchesReference(WeightFormat format) {
        try (Device floats = openFloatActivationDevice()) {
            for (int cols : new int[] {32 * 3, 4128}) {
                for (int rows : new int[] {1, 3, 17, 255}) {
                    for (int batch : new int[] {1, 5}) {
                        checkMatmul(floats, format, rows, cols, batch, ScalarReference.randomVector(batch * cols, random), (rows + cols) % 2 == 0);
                    }
                }
            }
        }
    }

    /**
     * Q8_0 and Q4_0 under the integer dot, bit for bit the host's (its scalar twin, and its matmul):
     * rows around the work-group size (64 on CPUs) and past it, 1 to 3 blocks and 129, batches that
     * fill batch tiles of 4, leave a tail, or stay below one.
     */
    @ParameterizedTest
    @MethodSource("integerDotFormats")
    void integerDotMatmulIsTheHostsBitForBit(WeightFormat format) {
        for (int cols : new int[] {32, 64, 96, 4128}) {
            for (int rows : new int[] {1, 2, 63, 65, 130}) {
                for (int batch : new int[] {1, 3, 4, 9}) {
                    float[] x = ScalarReference.randomVector(batch * cols, random);
                    checkMatmulIsTheHosts(format, rows, cols, batch, x, (rows + batch) % 2 == 0);
                }
            }
        }
    }

    /**
     * The activation rounding itself: blocks whose largest value is 127 (scale 1, so x.5 values are
     * exact ties, rounded to even), an all-zero block (scale 0), blocks of tiny and huge magnitudes, and
     * a largest value that is negative. Against one-hot weight rows each output is one activation's
     * integer times its scale, so a different rounding or scale shows as a different value.
     */
    @ParameterizedTest
    @MethodSource("integerDotFormats")
    void activationsRoundAsTheHosts(WeightFormat format) {
        int cols = 32 * 6;
        float[] x = new float[cols];
        for (int k = 0; k < 32; k++) x[k] = k == 0 ? 127f : (k - 16) + 0.5f;        // ties: -15.5 .. 14.5
        for (int k = 0; k < 32; k++) x[32 + k] = k == 5 ? -127f : -(k % 7) - 0.5f;  // negative ties
        // x[64..96): all zero
        for (int k = 0; k < 32; k++) x[96 + k] = (k - 11) * 3.1e-30f;
        for (int k = 0; k < 32; k++) x[128 + k] = (float) Math.sin(k) * 7.3e25f;
        for (int k = 0; k < 32; k++) x[160 + k] = k == 31 ? -3.0f : (k - 15) * 0.0937f;
        checkMatmulIsTheHosts(WeightMatrix.of(format, oneHotWeights(format, cols), cols, cols), 1, x);
        checkMatmulIsTheHosts(format, 7, cols, 1, x, false);
    }

    /** A (cols, cols) identity in format: scales 1, row j's only nonzero weight 1 at column j. */
    private static MemorySegment oneHotWeights(WeightFormat format, int cols) {
        int blockBytes = format.blockBytes(), blocks = cols / 32;
        MemorySegment data = MemorySegment.ofArray(new byte[(int) format.bytesFor((long) cols * cols)]);
        for (int j = 0; j < cols; j++) {
            for (int b = 0; b < blocks; b++) {
                long at = ((long) j * blocks + b) * blockBytes;
                data.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), at, Float.floatToFloat16(1f));
                for (int k = 2; k < blockBytes; k++) data.set(ValueLayout.JAVA_BYTE, at + k, format == WeightFormat.Q4_0 ? (byte) 0x88 : 0);
            }
            long at = ((long) j * blocks + j / 32) * blockBytes + 2;
            int k = j % 32;
            if (format == WeightFormat.Q8_0) {
                data.set(ValueLayout.JAVA_BYTE, at + k, (byte) 1);
            } else {
                long byteAt = at + (k & 15);
                int old = data.get(ValueLayout.JAVA_BYTE, byteAt) & 0xFF;
                int updated = k < 16 ? (old & 0xF0) | 9 : (old & 0x0F) | (9 << 4);
                data.set(ValueLayout.JAVA_BYTE, byteAt, (byte) updated);
            }
        }
        return data;
    }

    Set<WeightFormat> integerDotFormats() {
        if (!KernelConfig.integerDot()) fail("these tests check the int8 default; this JVM runs tandem.quantDot=float");
        return integerDotFormatSet();
    }

    private void checkMatmulIsTheHosts(WeightFormat format, int rows, int cols, int batch, float[] x, boolean heap) {
        checkMatmulIsTheHosts(WeightMatrix.of(format, ScalarReference.randomWeights(format, rows, cols, random, heap), rows, cols), batch, x);
    }

    private void checkMatmulIsTheHosts(WeightMatrix m, int batch, float[] x) {
        int rows = m.rows(), cols = m.cols();
        float[] host = new float[batch * rows];
        m.matmul(x, host, batch);
        try (DeviceWeights w = device.upload(m);
             DeviceBuffer in = device.allocate((long) batch * cols);
             DeviceBuffer out = device.allocate((long) batch * rows)) {
            device.write(in, 0, x, 0, x.length);
            device.matmul(w, in, out, batch);
            float[] got = read(out, batch * rows);
            for (int b = 0; b < batch; b++) {
                for (int r = 0; r < rows; r++) {
                    float twin = m.dotScalar(r, x, b * cols);
                    int i = b * rows + r;
                    String where = m.format() + " " + rows + "x" + cols + " batch " + batch + " out[" + b + "][" + r + "]";
                    assertEquals(twin, host[i], where + ": the host's matmul against its scalar twin");
                    if (Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(twin)) {
                        fail(where + ": got " + got[i] + ", the host computes " + twin + " (seed " + seed + ")");
                    }
                }
            }
        }
    }

    private void checkMatmul(Device device, WeightFormat format, int rows, int cols, int batch, float[] x, boolean heap) {
        MemorySegment data = ScalarReference.randomWeights(format, rows, cols, random, heap);
        double[] sumAbs = new double[batch * rows];
        double[] expected = ScalarReference.matmul(format, data, rows, cols, x, batch, sumAbs);
        try (DeviceWeights w = device.upload(WeightMatrix.of(format, data, rows, cols));
             DeviceBuffer in = device.allocate((long) batch * cols);
             DeviceBuffer out = device.allocate((long) batch * rows)) {
            device.write(in, 0, x, 0, x.length);
            device.matmul(w, in, out, batch);
            float[] got = new float[batch * rows];
            device.read(out, 0, got, 0, got.length);
            for (int i = 0; i < got.length; i++) {
                // F32 accumulation over cols terms: allow 1e-4 of the magnitude summed, far above
                // the ~cols*2^-24 worst case of a tree reduction yet far below any indexing bug.
                double tolerance = 1e-4 * sumAbs[i] + 1e-6;
                if (Math.abs(got[i] - expected[i]) > tolerance) {
                    fail(format + " " + rows + "x" + cols + " batch " + batch + " out[" + i + "]: got " + got[i]
                            + ", expected " + expected[i] + " +- " + tolerance + " (seed " + seed + ")");
                }
            }
        }
    }

    // ---- embed ----

    @ParameterizedTest
    @MethodSource("formats")
    void embedGathersAndDequantizesExactly(WeightFormat format) {
        int rows = 17;
        int cols = format.blockSize() == 1 ? 1001 : 4128;
        MemorySegment table = ScalarReference.randomWeights(format, rows, cols, random, false);
        int[] tokens = {3, 0, 16, 3, 9};
        try (DeviceWeights w = device.upload(WeightMatrix.of(format, table, rows, cols));
             DeviceBuffer out = device.allocate((long) tokens.length * cols)) {
            device.embed(w, tokens, out);
            float[] got = new float[tokens.length * cols];
            device.read(out, 0, got, 0, got.length);
            for (int b = 0; b < tokens.length; b++) {
                for (int j = 0; j < cols; j++) {
                    // d (f16) times a small integer is exact in float, so dequantization must be bit-exact.
                    float expected = (float) ScalarReference.weight(format, table, cols, tokens[b], j);
                    if (got[b * cols + j] != expected) {
                        fail(format + " token " + tokens[b] + " col " + j + ": got " + got[b * cols + j] + ", expected " + expected);
                    }
                }
            }
        }
    }

    // ---- rmsnorm, rope ----

    @Test
    void rmsnormMatchesReferenceAndMayRunInPlace() {
        float eps = 1e-5f;
        for (int n : new int[] {1, 7, 1001, 4096}) {
            for (int batch : new int[] {1, 5}) {
                float[] x = ScalarReference.randomVector(n * batch, random);
                float[] weight = ScalarReference.randomVector(n, random);
                double[] expected = ScalarReference.rmsnorm(x, weight, n, batch, eps);
                try (DeviceBuffer in = device.allocate(x.length); DeviceBuffer w = device.allocate(n);
                     DeviceBuffer out = device.allocate(x.length)) {
                    device.write(in, 0, x, 0, x.length);
                    device.write(w, 0, weight, 0, n);
                    device.rmsnorm(out, in, w, n, batch, eps);
                    device.rmsnorm(in, in, w, n, batch, eps);  // out aliasing x
                    assertClose(expected, read(out, x.length), 1e-5, 1e-6, "rmsnorm n=" + n + " batch=" + batch);
                    assertClose(expected, read(in, x.length), 1e-5, 1e-6, "rmsnorm in place n=" + n + " batch=" + batch);
                }
            }
        }
    }

    @Test
    void ropeRotatesAdjacentPairs() {
        for (int headDim : new int[] {64, 6}) {
            int nHeads = 4;
            float[] invFreq = new float[headDim / 2];
            for (int i = 0; i < invFreq.length; i++) invFreq[i] = (float) Math.pow(10000, -2.0 * i / headDim);
            for (int pos0 : new int[] {0, 1, 4000}) {
                for (int batch : new int[] {1, 3}) {
                    float[] vec = ScalarReference.randomVector(batch * nHeads * headDim, random);
                    double[] expected = ScalarReference.rope(vec, nHeads, headDim, pos0, batch, invFreq);
                    try (DeviceBuffer v = device.allocate(vec.length); DeviceBuffer f = device.allocate(invFreq.length)) {
                        device.write(v, 0, vec, 0, vec.length);
                        device.write(f, 0, invFreq, 0, invFreq.length);
                        device.rope(v, nHeads, headDim, pos0, batch, f);
                        // Devices with fp64 take the angle in double like the reference (error ~1e-7);
                        // without it a float angle errs by up to pos * 2^-24 rad, allowed here.
                        double absolute = 2e-6 + (pos0 + batch) * 1.2e-7 * 4;
                        assertClose(expected, read(v, vec.length), 1e-6, absolute,
                                "rope headDim=" + headDim + " pos0=" + pos0 + " batch=" + batch);
                    }
                }
            }
        }
    }

    // ---- attention ----

    @Test
    void attentionIsCausalGqa() {
        int nHeads = 8, nKvHeads = 2;
        for (int headDim : new int[] {64, 20}) {
            for (int[] startAndBatch : new int[][] {{0, 1}, {0, 5}, {37, 1}, {37, 5}, {300, 3}}) {
                checkAttention(startAndBatch[0], startAndBatch[1], nHeads, nKvHeads, headDim);
            }
        }
    }

    private void checkAttention(int startPos, int batch, int nHeads, int nKvHeads, int headDim) {
        int maxPositions = startPos + batch + 11;
        int kvStride = nKvHeads * headDim;
        int valid = startPos + batch;
        float[] keys = ScalarReference.randomVector(maxPositions * kvStride, random);
        float[] values = ScalarReference.randomVector(maxPositions * kvStride, random);
        // Positions past the last row's are not part of anyone's context: NaN there catches over-reads.
        for (int i = valid * kvStride; i < keys.length; i++) keys[i] = values[i] = Float.NaN;
        float[] q = ScalarReference.randomVector(batch * nHeads * headDim, random);
        double[] expected = ScalarReference.attention(q, keys, values, startPos, batch, nHeads, nKvHeads, headDim);
        try (DeviceBuffer k = device.allocate(keys.length); DeviceBuffer v = device.allocate(values.length);
             DeviceBuffer qb = device.allocate(q.length); DeviceBuffer out = device.allocate(q.length)) {
            device.write(k, 0, keys, 0, keys.length);
            device.write(v, 0, values, 0, values.length);
            device.write(qb, 0, q, 0, q.length);
            device.attention(out, qb, k, v, startPos, batch, nHeads, nKvHeads, headDim);
            assertClose(expected, read(out, q.length), 1e-4, 1e-5,
                    "attention startPos=" + startPos + " batch=" + batch + " headDim=" + headDim);
        }
    }

    // ---- the host's float arithmetic, bit for bit ----

    /**
     * rmsnorm, rope, attention (causal GQA over a prefill batch) and silu_mul give the host's bits
     * ({@link Ops}, whose reductions run in its vector lanes; the kernels follow their count), on
     * sizes with vector tails (n = 7, 1001; headDim 20). Bits need cl_khr_fp64 (the host's double
     * steps: PoCL has it); a device without it is held to 1e-4 of the host's values instead.
     */
    @Test
    void floatOpsAreTheHostsBitForBit() {
        for (int n : new int[] {1, 7, 64, 1001, 4096}) {
            int batch = 3;
            float[] x = ScalarReference.randomVector(n * batch, random), weight = ScalarReference.randomVector(n, random);
            float[] expected = new float[x.length];
            for (int b = 0; b < batch; b++) Ops.rmsnorm(expected, b * n, x, b * n, weight, n, 1e-5f);
            try (DeviceBuffer in = device.allocate(x.length); DeviceBuffer w = device.allocate(n)) {
                device.write(in, 0, x, 0, x.length);
                device.write(w, 0, weight, 0, n);
                device.rmsnorm(in, in, w, n, batch, 1e-5f);
                assertBits(expected, read(in, x.length), "rmsnorm n=" + n);
            }
            float[] gate = ScalarReference.randomVector(n, random), up = ScalarReference.randomVector(n, random);
            for (int i = 0; i < n; i += 5) gate[i] *= 40; // past exp's clamps too
            float[] silu = gate.clone();
            Ops.siluMul(silu, 0, up, 0, n);
            try (DeviceBuffer g = device.allocate(n); DeviceBuffer u = device.allocate(n)) {
                device.write(g, 0, gate, 0, n);
                device.write(u, 0, up, 0, n);
                device.siluMul(g, u, n);
                assertBits(silu, read(g, n), "siluMul n=" + n);
            }
        }
        int nHeads = 6, nKvHeads = 2;
        for (int headDim : new int[] {64, 20}) {
            float[] invFreq = new float[headDim / 2];
            for (int i = 0; i < invFreq.length; i++) invFreq[i] = (float) Math.pow(10000, -2.0 * i / headDim);
            for (int[] startAndBatch : new int[][] {{0, 1}, {0, 5}, {37, 1}, {300, 3}}) {
                int startPos = startAndBatch[0], batch = startAndBatch[1], dim = nHeads * headDim, kvDim = nKvHeads * headDim;
                float[] q = ScalarReference.randomVector(batch * dim, random);
                float[] rotated = q.clone();
                for (int b = 0; b < batch; b++) Ops.rope(rotated, b * dim, nHeads, headDim, startPos + b, invFreq);
                float[] keys = ScalarReference.randomVector((startPos + batch) * kvDim, random);
                float[] values = ScalarReference.randomVector((startPos + batch) * kvDim, random);
                float[] expected = new float[batch * dim];
                Ops.attentionPrefill(expected, rotated, keys, values, 0, startPos, batch, nHeads, nKvHeads, headDim);
                try (DeviceBuffer qb = device.allocate(q.length); DeviceBuffer f = device.allocate(invFreq.length);
                     DeviceBuffer k = device.allocate(keys.length); DeviceBuffer v = device.allocate(values.length);
                     DeviceBuffer out = device.allocate(expected.length)) {
                    device.write(qb, 0, q, 0, q.length);
                    device.write(f, 0, invFreq, 0, invFreq.length);
                    device.write(k, 0, keys, 0, keys.length);
                    device.write(v, 0, values, 0, values.length);
                    device.rope(qb, nHeads, headDim, startPos, batch, f);
                    String where = " headDim=" + headDim + " startPos=" + startPos + " batch=" + batch;
                    assertBits(rotated, read(qb, q.length), "rope" + where);
                    device.attention(out, qb, k, v, startPos, batch, nHeads, nKvHeads, headDim);
                    assertBits(expected, read(out, expected.length), "attention" + where);
                }
            }
        }
    }

    private void assertBits(float[] expected, float[] got, String what) {
        boolean bits = hostBits();
        for (int i = 0; i < expected.length; i++) {
            boolean same = bits ? Float.floatToRawIntBits(expected[i]) == Float.floatToRawIntBits(got[i])
                    : Math.abs(expected[i] - got[i]) <= 1e-4 * (1 + Math.abs(expected[i]));
            if (!same) {
                fail(what + " [" + i + "]: got " + got[i] + ", the host computes " + expected[i] + " (seed " + seed + ")");
            }
        }
    }

    // ---- elementwise, copy, write/read ----

    @Test
    void siluMulAndAddMatchReference() {
        for (int n : new int[] {1, 7, 1001, 100_003}) {
            float[] gate = ScalarReference.randomVector(n, random);
            float[] up = ScalarReference.randomVector(n, random);
            double[] silu = new double[n];
            double[] sum = new double[n];
            for (int i = 0; i < n; i++) {
                silu[i] = ScalarReference.silu(gate[i]) * up[i];
                sum[i] = (double) gate[i] + up[i];
            }
            try (DeviceBuffer g = device.allocate(n + 3); DeviceBuffer u = device.allocate(n)) {
                device.write(g, 0, gate, 0, n);
                device.write(u, 0, up, 0, n);
                device.add(g, u, n);
                assertClose(sum, read(g, n), 1e-6, 1e-7, "add n=" + n);
                device.write(g, 0, gate, 0, n);
                device.siluMul(g, u, n);
                assertClose(silu, read(g, n), 1e-5, 1e-7, "siluMul n=" + n);
            }
        }
    }

    @Test
    void copyAndOffsetsMoveExactlyTheRangeAsked() {
        float[] data = ScalarReference.randomVector(1001, random);
        try (DeviceBuffer a = device.allocate(1001); DeviceBuffer b = device.allocate(1001)) {
            device.write(a, 0, data, 0, 1001);
            device.write(b, 0, new float[1001], 0, 1001);
            device.copy(a, 10, b, 500, 333);
            float[] got = new float[1001];
            device.read(b, 0, got, 0, 1001);
            for (int i = 0; i < 1001; i++) {
                float expected = i >= 500 && i < 833 ? data[i - 490] : 0f;
                assertEquals(expected, got[i], "b[" + i + "]");
            }
            float[] window = new float[20];
            device.read(a, 991, window, 5, 10);
            for (int i = 0; i < 10; i++) assertEquals(data[991 + i], window[5 + i]);
            device.write(a, 1000, new float[] {0f, 42f}, 1, 1);
            device.read(a, 1000, window, 0, 1);
            assertEquals(42f, window[0]);
        }
    }

    @Test
    void eventsTimeWhatRunsBetweenThem() {
        MemorySegment data = ScalarReference.randomWeights(WeightFormat.Q8_0, 255, 4128, random, false);
        try (DeviceWeights w = device.upload(WeightMatrix.of(WeightFormat.Q8_0, data, 255, 4128));
             DeviceBuffer x = device.allocate(4128); DeviceBuffer out = device.allocate(255)) {
            var before = device.record();
            for (int i = 0; i < 10; i++) device.matmul(w, x, out, 1);
            var after = device.record();
            for (int i = 0; i < 200; i++) device.record();  // more than the sweep threshold: handles get released
            long nanos = after.nanosSince(before);
            assertTrue(nanos > 0 && nanos < 60_000_000_000L, "10 matvecs took " + nanos + " ns");
            assertTrue(after.nanosSince(after) == 0);
        }
    }

    // ---- helpers ----

    private float[] read(DeviceBuffer buffer, int length) {
        float[] out = new float[length];
        device.read(buffer, 0, out, 0, length);
        return out;
    }

    private void assertClose(double[] expected, float[] got, double relative, double absolute, String what) {
        for (int i = 0; i < expected.length; i++) {
            double tolerance = absolute + relative * Math.abs(expected[i]);
            if (!(Math.abs(got[i] - expected[i]) <= tolerance)) {
                fail(what + " [" + i + "]: got " + got[i] + ", expected " + expected[i] + " +- " + tolerance + " (seed " + seed + ")");
            }
        }
    }
}
