package dev.tandem.bench;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.format.GgmlEncoder;
import dev.tandem.runtime.format.GgmlType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.concurrent.TimeUnit;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/**
 * Decode's matvec on at least 256 MiB of weights per format (beyond every cache), all cores.
 * Bytes per op: {@link #weightBytes(WeightFormat)}; compare with {@link MemoryBandwidthBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 10, time = 1)
// coldWork=0: the iterations time the vector kernel from the first call, never the scalar cold-start twin
// (ColdStart): a matvec of 256 MiB runs fewer than the 128 twin calls in the whole warm-up, so without it
// every iteration timed the twin (Q4_0 at 64 MiB: ~200 ms/op instead of ~19; docs/benchmarks.md).
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xms2g", "-Xmx8g", "-Dtandem.coldWork=0"})
public class MatvecBenchmark {
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Param({"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    public WeightFormat format;

    /**
     * Weight MiB; the report uses 256, eight times the 32 MiB L3 (at 64 MiB a share of the weights
     * still hits the L3 and F32 read "faster than memory"). 1 shows the in-cache compute rate.
     */
    @Param({"256"})
    public int mib;

    /** Row length; decode's matrices are narrower (768 to 2048 for the stories110M shape). */
    @Param({"4096"})
    public int cols;

    public static final int COLS = 4096;

    private Arena arena;
    private WeightMatrix matrix;
    private float[] x, out;

    /** Rows for at least 256 MiB of weights in this format. */
    public static int rows(WeightFormat f) {
        return rows(f, 256);
    }

    static int rows(WeightFormat f, int mib) {
        return rows(f, mib, COLS);
    }

    static int rows(WeightFormat f, int mib, int cols) {
        long minBytes = (long) mib << 20;
        long rowBytes = f.bytesFor(cols);
        return (int) ((minBytes + rowBytes - 1) / rowBytes);
    }

    public static long weightBytes(WeightFormat f) {
        return rows(f) * f.bytesFor(COLS);
    }

    @Setup(Level.Trial)
    public void setup() {
        arena = Arena.ofShared();
        int rows = rows(format, mib, cols);
        matrix = randomMatrix(arena, format, rows, cols, new SplittableRandom(42));
        SplittableRandom r = new SplittableRandom(7);
        x = new float[cols];
        for (int i = 0; i < cols; i++) {
            x[i] = (float) r.nextGaussian();
        }
        out = new float[rows];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public float[] matvec() {
        matrix.matvec(x, 0, out, 0);
        return out;
    }

    /**
     * Random weights quantized by the same encoder that writes GGUF files; K-quants (which it does not
     * encode) as random bytes with finite super-block scales ({@link #randomKQuant}).
     */
    static WeightMatrix randomMatrix(Arena arena, WeightFormat format, int rows, int cols, SplittableRandom r) {
        return WeightMatrix.of(format, randomWeights(arena, format, rows, cols, r), rows, cols);
    }

    /** A rows x cols matrix's bytes in the format: encoded uniform values, or valid random K-quant blocks. */
    static MemorySegment randomWeights(Arena arena, WeightFormat format, int rows, int cols, SplittableRandom r) {
        GgmlType type = GgmlType.of(format);
        long rowBytes = format.bytesFor(cols);
        MemorySegment data = arena.allocate(rows * rowBytes, 64);
        if (format.isKQuant()) {
            randomKQuant(format, data, r);
            return data;
        }
        float[] row = new float[cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                row[j] = (float) (2 * r.nextDouble() - 1);
            }
            ByteBuffer dst = data.asSlice(i * rowBytes, rowBytes).asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            GgmlEncoder.encode(type, row, 0, cols, dst);
        }
        return data;
    }

    /**
     * Every bit pattern of a K-quant super-block is valid except its f16 super-scales: random bytes,
     * then the scales set to small finite values (the kernels' work does not depend on the values).
     */
    private static void randomKQuant(WeightFormat format, MemorySegment data, SplittableRandom r) {
        for (long i = 0; i < data.byteSize(); i++) {
            data.set(ValueLayout.JAVA_BYTE, i, (byte) r.nextInt());
        }
        int bb = format.blockBytes();
        short d = Float.floatToFloat16(1e-3f);
        for (long at = 0; at + bb <= data.byteSize(); at += bb) {
            switch (format) {
                case Q2_K -> { data.set(SHORT_LE, at + 80, d); data.set(SHORT_LE, at + 82, d); }
                case Q3_K -> data.set(SHORT_LE, at + 108, d);
                case Q4_K, Q5_K -> { data.set(SHORT_LE, at, d); data.set(SHORT_LE, at + 2, d); }
                case Q6_K -> data.set(SHORT_LE, at + 208, d);
                default -> throw new IllegalArgumentException(format + " is not a K-quant");
            }
        }
    }
}
