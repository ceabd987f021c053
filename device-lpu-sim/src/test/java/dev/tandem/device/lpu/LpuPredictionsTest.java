package dev.tandem.device.lpu;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The published GroqChip1 deployments of docs/lpu.md against the GroqChip1 preset: the one point the
 * preset's chipSyncCycles was fitted to stays fitted, and the dense models judged by it stay within the
 * stated error. A change to a chip figure or to the cost of a program moves these predictions; this
 * test says when the fit must be redone and the table in docs/lpu.md re-run.
 */
class LpuPredictionsTest {
    private static final ChipConfig CHIP = ChipConfig.GROQCHIP1;

    /** Points of the same model and context run the same step: each is timed once. */
    private final Map<String, Double> predictions = new HashMap<>();

    private double predicted(LpuPredictions.Published p) {
        return predictions.computeIfAbsent(p.model().name() + "@" + p.context(), k ->
                LpuPredictions.step(CHIP, p.model().shape(), p.context(), LpuPredictions.PUBLISHED_POSITION).tokensPerSecond(CHIP));
    }

    @Test
    void theFittedDeploymentIsReproducedWithinTwoPerCent() {
        List<LpuPredictions.Published> fitted = LpuPredictions.published().stream().filter(LpuPredictions.Published::fitted).toList();
        assertEquals(1, fitted.size(), "one point fixes chipSyncCycles");
        LpuPredictions.Published p = fitted.getFirst();
        double predicted = predicted(p), error = predicted / p.tokensPerSecond() - 1;
        assertTrue(Math.abs(error) <= 0.02, p.model().name() + ": " + predicted + " tok/s against the fitted " + p.tokensPerSecond());
    }

    /** Dense models only: Mixtral's +62 % is documented as the model's known gap (expert routing it does not charge). */
    @Test
    void judgedDenseDeploymentsAreWithinTwentyFivePerCent() {
        int judged = 0;
        for (LpuPredictions.Published p : LpuPredictions.published()) {
            if (p.fitted() || p.model().name().startsWith("mixtral")) {
                continue;
            }
            double predicted = predicted(p), error = predicted / p.tokensPerSecond() - 1;
            assertTrue(Math.abs(error) <= 0.25, String.format("%s, context %d: predicted %.0f tok/s, published %.0f (%+.0f %%)",
                    p.model().name(), p.context(), predicted, p.tokensPerSecond(), 100 * error));
            judged++;
        }
        assertEquals(5, judged, "the five judged dense points of docs/lpu.md");
    }
}
