package dev.tandem.bench;

import dev.tandem.kernels.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.concurrent.TimeUnit;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The ceiling for every bandwidth-bound figure: read 512 MiB of off-heap memory (far beyond the
 * 32 MiB L3) with vector loads on all cores, the same pool the kernels use. Bytes per op: {@link #BYTES}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 10, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xms2g", "-Xmx8g"})
public class MemoryBandwidthBenchmark {
    public static final long BYTES = 512L << 20;
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private Arena arena;
    private MemorySegment data;
    private final float[] partial = new float[256];

    @Setup(Level.Trial)
    public void setup() {
        arena = Arena.ofShared();
        data = arena.allocate(BYTES, 64);
        for (long i = 0; i < BYTES; i += 4096) {
            data.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) i); // touch every page
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public float readAll() {
        int chunks = 256;
        long perChunk = BYTES / chunks;
        Parallel.forRange(chunks, 1, (start, end) -> {
            for (int c = start; c < end; c++) {
                partial[c] = sum(data, c * perChunk, perChunk);
            }
        });
        float total = 0;
        for (float p : partial) {
            total += p;
        }
        return total;
    }

    /**
     * Four streams at once (the chunk's quarters), like a matvec over four rows: one sequential
     * stream per core leaves memory-level parallelism unused and under-reads the ceiling.
     */
    private static float sum(MemorySegment m, long from, long bytes) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
        long step = S.vectorByteSize();
        long quarter = bytes / 4;
        long s0 = from, s1 = from + quarter, s2 = from + 2 * quarter, s3 = from + 3 * quarter;
        for (long off = 0; off < quarter; off += step) {
            a0 = a0.add(FloatVector.fromMemorySegment(S, m, s0 + off, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(S, m, s1 + off, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(S, m, s2 + off, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(S, m, s3 + off, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }
}
