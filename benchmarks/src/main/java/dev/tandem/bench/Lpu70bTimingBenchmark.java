package dev.tandem.bench;

import dev.tandem.device.lpu.ChipConfig;
import dev.tandem.device.lpu.LpuLlama;
import dev.tandem.device.lpu.ModelShape;
import dev.tandem.device.lpu.RunStats;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.compiler.ModelShapes;
import dev.tandem.runtime.model.LlamaConfig;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Timing-only mode at scale: lower, validate and run one decode step of a 70B-shaped Llama (int8)
 * on 656 groqchip1 chips, with no SRAM allocated and a 1 GiB heap. Single shots: the first is the
 * cold figure a user sees, later ones the warm one.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 0)
@Measurement(iterations = 4)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx1g"})
public class Lpu70bTimingBenchmark {
    static final LlamaConfig LLAMA_70B = ModelShapes.shape("llama-2-70b").config();
    /** The fewest groqchip1 chips whose stages hold it at 2048 positions (StageLayout.fewestChips): 82 nodes. */
    static final int CHIPS = 656;

    @Benchmark
    public long lowerValidateRun70b() {
        RunStats r = LpuLlama.timeStep(ModelShape.uniform(LLAMA_70B, WeightFormat.Q8_0), ChipConfig.GROQCHIP1, CHIPS, 2048, 1024);
        return r.cycles();
    }
}
