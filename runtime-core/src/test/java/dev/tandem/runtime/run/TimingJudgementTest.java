package dev.tandem.runtime.run;

import dev.tandem.runtime.run.TimingJudgement;
import dev.tandem.runtime.run.TimingJudgement.Step;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The verdict's timing rule on injected measurements: no clock is read. */
class TimingJudgementTest {
    private static List<Step> steps(double predicted, double... measured) {
        List<Step> s = new ArrayList<>();
        for (double m : measured) {
            s.add(new Step(predicted, m));
        }
        return s;
    }

    @Test
    void withinAQuarterOfThePredictionPasses() {
        TimingJudgement j = TimingJudgement.of("cpu[0]", steps(1.0, 1.2, 1.1, 1.24, 0.9, 1.0), true);
        assertTrue(j.within(), j.describe());
        assertEquals(1.1, j.ratio(), 1e-12);
        assertTrue(j.describe().contains("within 25%"), j.describe());
        assertTrue(TimingJudgement.of("cpu[0]", steps(1.0, 0.76, 0.8, 0.77), true).within());
    }

    @Test
    void outsideAQuarterFailsEitherWay() {
        TimingJudgement slow = TimingJudgement.of("cpu[0]", steps(1.0, 1.3, 1.4, 1.26), true);
        assertFalse(slow.within());
        assertTrue(slow.describe().contains("OUTSIDE 25%"), slow.describe());
        assertFalse(TimingJudgement.of("cpu[0]", steps(1.0, 0.7, 0.74, 0.6), true).within());
    }

    @Test
    void theMedianShrugsOffPreemptedSteps() {
        // Two of seven steps were preempted for 50x their time; the median step is still on time.
        TimingJudgement j = TimingJudgement.of("opencl[0]", steps(1.0, 1.0, 50, 1.1, 0.95, 60, 1.05, 1.0), true);
        assertTrue(j.within(), j.describe());
        assertEquals(1.05, j.ratio(), 1e-12);
    }

    @Test
    void uncalibratedOrTooFewStepsAreNotJudgedAndDoNotPass() {
        TimingJudgement roofline = TimingJudgement.of("cpu[0]", steps(1.0, 1.0, 1.0, 1.0), false);
        assertFalse(roofline.judged());
        assertFalse(roofline.within());
        assertTrue(roofline.describe().contains("uncalibrated"), roofline.describe());
        TimingJudgement few = TimingJudgement.of("cpu[0]", steps(1.0, 1.0, 1.0), true);
        assertFalse(few.judged());
        assertTrue(few.describe().contains("fewer than 3"), few.describe());
        assertNull(TimingJudgement.of("cpu[0]", List.of(), true), "no decode step on a present device: nothing to judge");
    }

    @Test
    void stepsPredictedDifferentlyAreJudgedByTheirOwnRatio() {
        List<Step> s = List.of(new Step(1.0, 1.1), new Step(2.0, 2.2), new Step(4.0, 4.4));
        TimingJudgement j = TimingJudgement.of("cpu[0]", s, true);
        assertEquals(1.1, j.ratio(), 1e-12);
        assertEquals(2.0, j.predictedMedian(), 1e-12);
        assertEquals(2.2, j.measuredMedian(), 1e-12);
    }

    @Test
    void theFirstQuartileIsReportedBesideTheVerdictWithoutChangingIt() {
        // A loaded machine: most steps preempted; the fastest quarter is on time, the median is not.
        TimingJudgement j = TimingJudgement.of("cpu[0]", steps(1.0, 1.0, 1.05, 3, 4, 5, 6, 7, 8), true);
        assertEquals(1.05, j.lowRatio(), 1e-12, "ranks 1.0, 1.05 | 3 ...: the second of eight");
        assertEquals(4.5, j.ratio(), 1e-12);
        assertFalse(j.within(), "the verdict is the median's");
        assertTrue(j.describe().contains("first quartile 1.05"), j.describe());
    }
}
