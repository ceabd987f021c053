package dev.tandem.runtime.compiler;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The batched GPU model against published serving results (the table in docs/planning.md is this
 * test's output). The one fitted constant is fitted on one Hopper point; the rest are judged.
 */
class GpuValidationTest {
    /** The deployment's best output tokens/s over the batch sizes its KV cache allows, in the published layout. */
    static double predict(PublishedGpuResults.Point p) {
        DeviceGroup g = new Catalog().resolve(p.gpu(), p.tp());
        var m = new GpuServingModel(ModelShapes.shape(p.shape()), p.weights(), p.kv(), new ServingWorkload(p.isl(), p.osl()), g,
                GpuFigures.of(p.gpu()).orElseThrow());
        var l = new GpuServingModel.Layout(p.tp(), 1, 1);
        double best = 0;
        for (int b : Frontiers.batchGrid(m.maxBatch(l))) {
            best = Math.max(best, m.point(l, b).tokensPerSecondPerSystem());
        }
        return best;
    }

    private static double error(PublishedGpuResults.Point p) { return predict(p) / p.tokensPerSecond() - 1; }

    @Test
    void theFittedPointIsMatched() {
        var fit = PublishedGpuResults.all().stream().filter(p -> p.shape().equals("llama-3-70b") && p.gpu().equals("h200")
                && p.isl() == 1000 && p.osl() == 2000).findFirst().orElseThrow();
        assertEquals(0, error(fit), 0.02);
    }

    @Test
    void hopperPointsAreWithinThirtyPercentOnAverage() {
        List<Double> hopper = new ArrayList<>();
        StringBuilder table = new StringBuilder();
        for (var p : PublishedGpuResults.all()) {
            double e = error(p);
            if (!p.gpu().equals("b200")) {
                hopper.add(Math.abs(e));
            }
            table.append(String.format(Locale.ROOT, "| %s | %s | %s TP%d | %s | %d:%d | %,.0f | %,.0f | %+.0f%% |%n",
                    p.source().endsWith("(v0.17)") ? "v0.17" : "v1.0", p.shape(), p.gpu(),
                    p.tp(), p.weights(), p.isl(), p.osl(), p.tokensPerSecond(), predict(p), e * 100));
        }
        System.out.print(table);
        double mean = hopper.stream().mapToDouble(x -> x).average().orElseThrow();
        assertTrue(mean <= 0.30, "mean |error| on Hopper " + mean);
    }
}
