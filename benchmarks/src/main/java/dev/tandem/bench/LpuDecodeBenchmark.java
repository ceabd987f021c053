package dev.tandem.bench;

import dev.tandem.device.lpu.ChipConfig;
import dev.tandem.device.lpu.StageLayout;
import dev.tandem.device.lpu.LpuLlama;
import dev.tandem.device.lpu.ModelShape;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.format.GgmlType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Full-mode emulation of one decode step of the stories110M-shaped Q8_0 model on the fewest
 * groqchip1 chips that hold it (lower, validate, execute with data), next to
 * {@link DecodeBenchmark}'s CPU step at the same positions.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 10, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xms2g", "-Xmx8g"})
public class LpuDecodeBenchmark {
    private Model model;
    private LpuLlama lpu;
    private int pos;
    private int token = 1;
    int chips;

    @Setup(Level.Trial)
    public void setup() {
        model = Stories110M.load(GgmlType.Q8_0);
        ModelShape shape = ModelShape.of(model.config(), model.weights());
        chips = StageLayout.fewestChips(shape, ChipConfig.GROQCHIP1, DecodeBenchmark.POSITIONS);
        lpu = new LpuLlama(model.config(), model.weights(), model.ropeInvFreq(), ChipConfig.GROQCHIP1, chips,
                DecodeBenchmark.POSITIONS);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        lpu.close();
        model.close();
    }

    @Benchmark
    public float emulatedDecodeStep() {
        float[] logits = lpu.forward(token, pos);
        pos = (pos + 1) % DecodeBenchmark.POSITIONS;
        token = (token * 31 + 7) % model.config().vocabSize();
        return logits[0];
    }
}
