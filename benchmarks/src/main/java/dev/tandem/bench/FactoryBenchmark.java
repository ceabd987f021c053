package dev.tandem.bench;

import dev.tandem.factory.CompilerFrontierSource;
import dev.tandem.factory.ConfigurationFrontier;
import dev.tandem.factory.Facility;
import dev.tandem.factory.Planner;
import dev.tandem.factory.RequestShape;
import dev.tandem.factory.Tiers;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.ModelShapes;
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
import org.openjdk.jmh.annotations.Warmup;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code tandem factory}'s work for a 1 GW site, llama-3-70b (f16), ISL:OSL 1024:1024, default
 * tiers (the $150 tier, out of reach on main's LPU model, planned without), LPU shares 0-50%: {@code wholeSite} compiles every configuration's frontier for rubin and
 * lp30 (rubin alone, rubin+lp30 afd and disagg, lp30 alone; batch 1..4096) and allocates the power;
 * {@code allocateOnly} repeats just the allocations (seven LPU shares, two LPs each) on frontiers
 * compiled once. Single shots, the first cold.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 0)
@Measurement(iterations = 4)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g"})
public class FactoryBenchmark {
    private static final List<Double> SHARES = List.of(0.0, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5);
    private static final RequestShape REQUESTS = new RequestShape(1024, 1024);

    private ModelGraph model;
    private Planner planner;
    private List<ConfigurationFrontier> frontiers;

    @Setup(Level.Trial)
    public void setUp() {
        model = ModelShapes.shape("llama-3-70b");
        planner = new Planner(CompilerFrontierSource.installed(), Facility.DEFAULT);
        frontiers = planner.frontiers(model, REQUESTS, List.of("rubin"), List.of("lp30"));
    }

    @Benchmark
    public Planner.FactoryPlan wholeSite() {
        Planner fresh = new Planner(CompilerFrontierSource.installed(), Facility.DEFAULT);
        return fresh.plan(fresh.frontiers(model, REQUESTS, List.of("rubin"), List.of("lp30")), 1e9, Tiers.defaults(), SHARES, null, true);
    }

    @Benchmark
    public Planner.FactoryPlan allocateOnly() {
        return planner.plan(frontiers, 1e9, Tiers.defaults(), SHARES, null, true);
    }
}
