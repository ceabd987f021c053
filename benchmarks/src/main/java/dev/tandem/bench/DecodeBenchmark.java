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

/**
 * One decode step of the stories110M-shaped model (dim 768, hidden 2048, 12 layers, 12 heads,
 * vocab 32000) from a GGUF file, at positions cycling through [0, {@link #POSITIONS}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 10, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xms2g", "-Xmx8g"})
public class DecodeBenchmark {
    static final int POSITIONS = 128;

    @Param({"F32", "Q8_0", "Q4_0"})
    public GgmlType type;

    private Model model;
    private ReferenceForward forward;
    private int pos;
    private int token = 1;

    @Setup(Level.Trial)
    public void setup() {
        model = Stories110M.load(type);
        forward = new ReferenceForward(model.config(), model.weights(), model.ropeInvFreq(), POSITIONS,
                ReferenceForward.DEFAULT_PREFILL_CHUNK);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        model.close();
    }

    @Benchmark
    public float decodeStep() {
        float[] logits = forward.forward(token, pos);
        pos = (pos + 1) % POSITIONS;
        token = (token * 31 + 7) % model.config().vocabSize();
        return logits[0];
    }
}
