package dev.tandem.bench;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceWeights;
import dev.tandem.runtime.device.Devices;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Decode's matvec through the device SPI on 256 MiB of weights: the host CPU device next to OpenCL
 * (PoCL on this machine), same matrices, synchronised after each op. Bytes per op as in
 * {@link MatvecBenchmark#weightBytes}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 10, time = 1)
// coldWork=0: as MatvecBenchmark, the cpu device is timed on its vector kernels, not the cold-start twins.
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xms2g", "-Xmx8g", "-Dtandem.coldWork=0",
        "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
public class DeviceMatvecBenchmark {
    @Param({"cpu", "opencl"})
    public String device;

    @Param({"F32", "Q8_0", "Q4_0"})
    public WeightFormat format;

    private Arena arena;
    private Device dev;
    private DeviceWeights weights;
    private DeviceBuffer x, out;

    @Setup(Level.Trial)
    public void setup() {
        arena = Arena.ofShared();
        int rows = MatvecBenchmark.rows(format);
        WeightMatrix m = MatvecBenchmark.randomMatrix(arena, format, rows, MatvecBenchmark.COLS, new SplittableRandom(42));
        dev = Devices.open(device);
        weights = dev.upload(m);
        float[] input = new float[MatvecBenchmark.COLS];
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < input.length; i++) {
            input[i] = (float) r.nextGaussian();
        }
        x = dev.allocate(input.length);
        dev.write(x, 0, input, 0, input.length);
        out = dev.allocate(rows);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        dev.close();
        arena.close();
    }

    @Benchmark
    public void matvec() {
        dev.matmul(weights, x, out, 1);
        dev.synchronize();
    }
}
