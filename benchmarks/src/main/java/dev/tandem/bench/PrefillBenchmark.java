package dev.tandem.bench;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.exec.ReferenceForward;
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
import java.util.SplittableRandom;

/** Prefill of a {@link #TOKENS}-token prompt on the stories110M-shaped model, as chunked matmuls. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 10, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xms2g", "-Xmx8g",
        "-XX:ObjectAlignmentInBytes=64", "-Dtandem.objectAlignment=64"}) // as ./tandem (AlignedFloats)
public class PrefillBenchmark {
    static final int TOKENS = 256;

    @Param({"F32", "Q8_0", "Q4_0"})
    public GgmlType type;

    private Model model;
    private ReferenceForward forward;
    private int[] prompt;

    @Setup(Level.Trial)
    public void setup() {
        model = Stories110M.load(type);
        forward = new ReferenceForward(model.config(), model.weights(), model.ropeInvFreq(), TOKENS,
                ReferenceForward.DEFAULT_PREFILL_CHUNK);
        SplittableRandom r = new SplittableRandom(3);
        prompt = new int[TOKENS];
        for (int i = 0; i < TOKENS; i++) {
            prompt[i] = r.nextInt(model.config().vocabSize());
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        model.close();
    }

    @Benchmark
    public float prefill256() {
        return forward.prefill(prompt, 0)[0];
    }
}
