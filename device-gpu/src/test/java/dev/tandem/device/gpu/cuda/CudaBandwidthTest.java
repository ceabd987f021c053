package dev.tandem.device.gpu.cuda;

import dev.tandem.device.gpu.shared.ScalarReference;
import dev.tandem.kernels.KernelConfig;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceEvent;
import dev.tandem.runtime.device.DeviceWeights;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * On a GPU, at sizes past every cache: a matvec over >= 256 MiB of weights and a 512-row matmul
 * (prefill), each checked on sampled rows against the host, then timed by CUDA events and PRINTED
 * against the device's measured copy bandwidth (bytes read + written per second). The figures are
 * reported, not asserted: timing assertions are not tests. Skips without a GPU.
 */
class CudaBandwidthTest {
    private static final int REPEATS = 20;
    private static CudaDevice device;

    @BeforeAll
    static void open() { device = CudaTestDevices.openFirst(); }

    @AfterAll
    static void close() { if (device != null) device.close(); }

    /** rows x cols of format, filled by repeating a random tile of whole rows (fast to make at this size). */
    private static WeightMatrix bigMatrix(WeightFormat format, int rows, int cols, Arena arena) {
        int tileRows = 64;
        MemorySegment tile = ScalarReference.randomWeights(format, tileRows, cols, new Random(rows + cols), false);
        MemorySegment data = arena.allocate(format.bytesFor((long) rows * cols), 64);
        for (long r = 0; r < rows; r += tileRows) {
            long n = Math.min(tileRows, rows - r);
            MemorySegment.copy(tile, 0, data, format.bytesFor(r * cols), format.bytesFor(n * cols));
        }
        return WeightMatrix.of(format, data, rows, cols);
    }

    @ParameterizedTest(name = "{0} {1}x{2} batch {3}")
    @CsvSource({"F16, 16384, 8192, 1", "Q8_0, 16384, 16384, 1", "Q4_0, 16384, 28672, 1", "F16, 8192, 8192, 512",
            "Q8_0, 8192, 8192, 512"})
    void bigMatmulIsRightAndItsSpeedIsReported(WeightFormat format, int rows, int cols, int batch) {
        try (Arena arena = Arena.ofConfined()) {
            WeightMatrix m = bigMatrix(format, rows, cols, arena);
            float[] x = ScalarReference.randomVector(batch * cols, new Random(1));
            try (DeviceWeights w = device.upload(m); DeviceBuffer in = device.allocate((long) batch * cols);
                 DeviceBuffer out = device.allocate((long) batch * rows)) {
                device.write(in, 0, x, 0, x.length);
                device.matmul(w, in, out, batch);
                float[] got = new float[batch * rows];
                device.read(out, 0, got, 0, got.length);
                boolean bits = KernelConfig.integerDot() && CudaKernels.INTEGER_DOT_FORMATS.contains(format);
                for (int b : new int[] {0, batch - 1}) {
                    for (int r : new int[] {0, 1, rows / 2 + 3, rows - 1}) {
                        float host = m.dotScalar(r, x, b * cols);
                        float dev = got[b * rows + r];
                        if (bits) assertEquals(Float.floatToRawIntBits(host), Float.floatToRawIntBits(dev), "row " + r + " batch " + b);
                        else assertTrue(Math.abs(host - dev) <= 1e-3 * (1 + Math.abs(host)), "row " + r + ": " + dev + " vs " + host);
                    }
                }
                device.matmul(w, in, out, batch);  // warm
                DeviceEvent start = device.record();
                for (int i = 0; i < REPEATS; i++) device.matmul(w, in, out, batch);
                DeviceEvent end = device.record();
                double seconds = end.nanosSince(start) * 1e-9 / REPEATS;
                double bytes = m.data().byteSize() + 4.0 * batch * (cols + rows);
                double flops = 2.0 * rows * cols * batch;
                double copy = device.spec().memoryBandwidth();
                System.out.printf("cuda %s %dx%d batch %d (%s): %.1f us, %.0f GB/s read = %.2f of the copy bandwidth's"
                                + " %.0f GB/s (read + write), %.2f TFLOP/s%n", format, rows, cols, batch,
                        bits ? "int8 activations" : "fp32 activations", seconds * 1e6, bytes / seconds / 1e9,
                        bytes / seconds / copy, copy / 1e9, flops / seconds / 1e12);
            }
        }
    }
}
