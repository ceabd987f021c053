package dev.tandem.bench;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.Compiler;
import dev.tandem.runtime.compiler.Frontier;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.ModelShapes;
import dev.tandem.runtime.compiler.Objective;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.compiler.Policy;
import dev.tandem.runtime.compiler.Pool;
import dev.tandem.runtime.compiler.PoolParser;
import dev.tandem.runtime.compiler.ServingFormat;
import dev.tandem.runtime.compiler.ServingWorkload;
import dev.tandem.runtime.compiler.Workload;
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
 * Compile time at scale: llama-2-70b (int8) on groqchip1*576 plus h100*8 under auto, with the
 * installed cost providers (the LPU emulator's exact cycles where it can lower a layer). Single
 * shots, the first cold.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 0)
@Measurement(iterations = 4)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g"})
public class CompileBenchmark {
    @Benchmark
    public Plan compile70bOn576ChipsAnd8Gpus() {
        ModelGraph graph = ModelShapes.shape("llama-2-70b").withFormat(WeightFormat.Q8_0);
        Pool pool = PoolParser.parse("groqchip1*576,h100*8", new Catalog());
        return Compiler.withInstalledProviders().compile(graph, pool, new Workload(1, 512, 4096), Policy.parse("auto"),
                Objective.lowestTpot());
    }

    /** The serving frontier of the same pool (GPU steady state plus static LPU plans at 13 batch sizes). */
    @Benchmark
    public Frontier frontier70bOn576ChipsAnd8Gpus() {
        ModelGraph graph = ModelShapes.shape("llama-2-70b").withFormat(WeightFormat.Q8_0);
        Pool pool = PoolParser.parse("groqchip1*576,h100*8", new Catalog());
        return Compiler.withInstalledProviders().frontier(graph, pool, Policy.parse("auto"), new ServingWorkload(512, 3584),
                ServingFormat.of(WeightFormat.Q8_0), ServingFormat.BF16);
    }
}
