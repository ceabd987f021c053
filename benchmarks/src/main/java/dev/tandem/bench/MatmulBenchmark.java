package dev.tandem.bench;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
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

/**
 * Prefill's matmul on one stories110M FFN matrix (2048 x 768) for a batch of tokens, all cores:
 * {@link #macs} multiply-adds per op, so GMAC/s = macs / (ms * 1e6); compare with
 * {@link FmaPeakBenchmark} (one FMA = one MAC per lane). -jvmArgsAppend -Dtandem.tokenTiles=false
 * runs the per-row kernels instead of the token-tiled ones (same bits) for an A/B in one session.
 * Decode-sized batches: -p batch=8,16,32 (the per-row integer kernel for Q8_0/Q4_0), and with
 * -jvmArgsAppend -Dtandem.rowGemm=true the opt-in IntRowGemm for them (same bits).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
// coldWork=0: the iterations time the tiles from the first call, never a scalar cold-start twin (ColdStart).
// The object alignment as ./tandem sets it, so the tiles' scratch starts on cache lines (AlignedFloats).
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xms1g", "-Xmx4g", "-Dtandem.coldWork=0",
        "-XX:ObjectAlignmentInBytes=64", "-Dtandem.objectAlignment=64"})
public class MatmulBenchmark {
    // The formats GgmlEncoder writes; K-quant matrices would need an encoder for them (the tests' come
    // from llama.cpp's gguf-py), so their tiles are measured end to end by tandem bench instead.
    @Param({"Q8_0", "Q4_0", "F16"})
    public WeightFormat format;

    @Param({"2048"})
    public int rows;

    @Param({"768"})
    public int cols;

    @Param({"256"})
    public int batch;

    private Arena arena;
    private WeightMatrix matrix;
    private float[] x, out;

    public long macs() {
        return (long) rows * cols * batch;
    }

    @Setup(Level.Trial)
    public void setup() {
        arena = Arena.ofShared();
        matrix = MatvecBenchmark.randomMatrix(arena, format, rows, cols, new SplittableRandom(42));
        SplittableRandom r = new SplittableRandom(7);
        x = new float[batch * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        out = new float[batch * rows];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public float[] matmul() {
        matrix.matmul(x, out, batch);
        return out;
    }
}
