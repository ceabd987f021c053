package dev.tandem.runtime.compiler;

import dev.tandem.runtime.compiler.PublishedMlperfResults.Point;
import dev.tandem.runtime.compiler.PublishedMlperfResults.Scenario;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The batched GPU model against MLPerf Inference results (the MLPerf table in docs/planning.md is
 * this test's output). Nothing here is fitted: {@link GpuServingModel#ROOFLINE_SHARPNESS} keeps the
 * value fitted on TensorRT-LLM's H200 table, and every MLPerf row is judged with it.
 *
 * <p>MLPerf's requests vary in length; the model runs the benchmark's mean input and output
 * lengths as one fixed-length workload. Offline is a throughput run and is what the model predicts.
 * Server and Interactive bound the 99th percentile of TTFT and TPOT under Poisson arrivals, which the
 * model cannot express: their rows take the best steady state whose mean TPOT and TTFT (no queueing)
 * meet the limits, a proxy that is reported and not asserted.
 */
class MlperfValidationTest {
    private static final Catalog CATALOG = new Catalog();

    /** The best output tokens/s of the system in the published layout, under the scenario's limits. */
    static double predict(Point p) { return best(p).tokensPerSecondPerSystem(); }

    /** The steady state of most system tokens/s meeting the scenario's limits. */
    static FrontierPoint best(Point p) {
        DeviceGroup g = CATALOG.resolve(p.gpu(), p.gpus());
        var model = new GpuServingModel(ModelShapes.shape(p.benchmark().shape), p.weights(), ServingFormat.FP8,
                p.benchmark().workload(), g, GpuFigures.of(p.gpu()).orElseThrow());
        List<FrontierPoint> points = new ArrayList<>();
        if (p.layout().isPresent()) {
            var l = p.layout().get();
            for (int b : Frontiers.batchGrid(model.maxBatch(l))) {
                points.add(model.point(l, b));
            }
        } else {
            // The compiler's own layouts (every tensor-parallel degree, the fewest stages that fit).
            var compiler = new Compiler(CostModel.roofline());
            points.addAll(compiler.frontier(ModelShapes.shape(p.benchmark().shape), new Pool(List.of(g)), Policy.SINGLE,
                    p.benchmark().workload(), p.weights(), ServingFormat.FP8).points());
        }
        return points.stream()
                .filter(x -> x.tpotMs() <= p.scenario().tpotLimitMs && x.ttftMs() <= p.scenario().ttftLimitMs)
                .max(Comparator.comparingDouble(FrontierPoint::tokensPerSecondPerSystem))
                .orElseThrow(() -> new AssertionError("no steady state of " + p + " meets its limits"));
    }

    private static double error(Point p) { return predict(p) / p.tokensPerSecond() - 1; }

    private static boolean blackwell(Point p) { return p.gpu().equals("b200"); }

    private static List<Point> llama2Offline(boolean blackwell) {
        return PublishedMlperfResults.all().stream().filter(p -> p.benchmark() == PublishedMlperfResults.Benchmark.LLAMA2_70B
                && p.scenario() == Scenario.OFFLINE && blackwell(p) == blackwell).toList();
    }

    private static double meanAbsError(List<Point> ps) {
        return ps.stream().mapToDouble(p -> Math.abs(error(p))).average().orElseThrow();
    }

    private static void summary(String family, List<Point> ps) {
        System.out.printf(Locale.ROOT, "| %s | %d | %.0f %% | %+.0f … %+.0f %% | %d |%n", family, ps.size(), meanAbsError(ps) * 100,
                ps.stream().mapToDouble(MlperfValidationTest::error).min().orElseThrow() * 100,
                ps.stream().mapToDouble(MlperfValidationTest::error).max().orElseThrow() * 100,
                ps.stream().filter(p -> Math.abs(error(p)) <= 0.30).count());
    }

    @Test
    void printsTheTableAndTheSummary() {
        StringBuilder table = new StringBuilder();
        for (Point p : PublishedMlperfResults.all()) {
            FrontierPoint b = best(p);
            String layout = "TP" + b.tensorParallel() + (b.stages() > 1 ? " PP" + b.stages() : "") + " ×" + b.replicas()
                    + (p.layout().isPresent() ? "" : " (compiler's)");
            table.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %d× %s, %s | %s | %s | %,.0f | %,.0f (batch %d, TPOT %.0f ms) | %+.0f%% |%n",
                    p.round(), p.id(), p.system(), p.benchmark().shape, p.gpus(), p.gpu(), layout, p.weights(),
                    p.scenario().name().toLowerCase(Locale.ROOT), p.tokensPerSecond(), b.tokensPerSecondPerSystem(), b.batch(),
                    b.tpotMs(), error(p) * 100));
        }
        System.out.print(table);
        var all = PublishedMlperfResults.all();
        var l2 = PublishedMlperfResults.Benchmark.LLAMA2_70B;
        summary("llama-2-70b offline, Hopper", llama2Offline(false));
        summary("llama-2-70b offline, Blackwell", llama2Offline(true));
        summary("llama-3.1-405b offline", all.stream().filter(p -> p.benchmark() != l2).toList());
        summary("llama-2-70b server (proxy)", all.stream().filter(p -> p.scenario() == Scenario.SERVER).toList());
        summary("llama-2-70b interactive (proxy)", all.stream().filter(p -> p.scenario() == Scenario.INTERACTIVE).toList());
        summary("all MLPerf rows", all);
        // Every row is priced: the published layout holds the weights and a batch meeting the limits.
        for (Point p : PublishedMlperfResults.all()) {
            assertTrue(predict(p) > 0, "no steady state for " + p);
        }
    }

    @Test
    void offlineFamiliesAreWithinThirtyPercentOnAverage() {
        // Holds for the three Offline families (15 %, 21 %, 11 %); not asserted for the Server and
        // Interactive proxies (22 %, 44 %), which docs/planning.md reports instead.
        assertTrue(meanAbsError(llama2Offline(false)) <= 0.30, "Hopper Llama 2 70B Offline " + meanAbsError(llama2Offline(false)));
        assertTrue(meanAbsError(llama2Offline(true)) <= 0.30, "Blackwell Llama 2 70B Offline " + meanAbsError(llama2Offline(true)));
        var big = PublishedMlperfResults.all().stream().filter(p -> p.benchmark() == PublishedMlperfResults.Benchmark.LLAMA31_405B).toList();
        assertTrue(meanAbsError(big) <= 0.30, "Llama 3.1 405B Offline " + meanAbsError(big));
    }
}
