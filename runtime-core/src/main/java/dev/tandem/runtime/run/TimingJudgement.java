package dev.tandem.runtime.run;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Whether present devices ran a plan's decode steps in the time the plan's cost model predicts: the
 * median over the measured steps (the run's warm-up requests already ran) of each step's measured
 * time on the present devices over its predicted time, within ±{@link #TOLERANCE}. A median over
 * many steps shrugs off a step that another process preempted; one run on a loaded machine can still
 * land outside, which is why the verdict counts it only when asked ({@code tandem run --judge-timing}).
 *
 * @param tracks          the present devices' tracks the steps ran on
 * @param steps           decode steps judged
 * @param predictedMedian median predicted step seconds on those tracks
 * @param measuredMedian  median measured step seconds on those tracks
 * @param ratio           median of measured / predicted over the steps
 * @param calibrated      whether every op judged was priced by a calibrated profile (else the roofline)
 * @param lowRatio        the first quartile of measured / predicted: other processes only ever add time
 *                        to a step, so on a loaded machine this is nearer what a quiet one shows (the
 *                        profile's points are a low quantile too); reported beside the verdict, never in it
 */
public record TimingJudgement(String tracks, int steps, double predictedMedian, double measuredMedian, double ratio,
                              boolean calibrated, double lowRatio) {
    /** ±25%: the target for present devices. */
    public static final double TOLERANCE = 0.25;
    /** Fewer measured steps than this are too few for a median to mean much. */
    public static final int MIN_STEPS = 3;

    /** One decode step on the present devices: what it was predicted to take and what it took. */
    public record Step(double predictedSeconds, double measuredSeconds) {}

    /** The judgement of steps, or null when there is none (no decode step ran on a present device). */
    public static TimingJudgement of(String tracks, List<Step> steps, boolean calibrated) {
        if (steps.isEmpty()) {
            return null;
        }
        double[] ratios = steps.stream().mapToDouble(s -> s.measuredSeconds() / s.predictedSeconds()).toArray();
        return new TimingJudgement(tracks, steps.size(), median(steps.stream().mapToDouble(Step::predictedSeconds).toArray()),
                median(steps.stream().mapToDouble(Step::measuredSeconds).toArray()), median(ratios), calibrated, firstQuartile(ratios));
    }

    /** Judged (calibrated, enough steps) and within the tolerance. */
    public boolean within() {
        return judged() && Math.abs(ratio - 1) <= TOLERANCE;
    }

    /** Whether this says anything: the ops were priced from a profile and enough steps ran. */
    public boolean judged() {
        return calibrated && steps >= MIN_STEPS && Double.isFinite(ratio);
    }

    /** One line for the report. */
    public String describe() {
        String figures = String.format(Locale.ROOT, "decode step on %s: measured %.3f ms vs predicted %.3f ms (median of %d steps; measured/predicted %.2f,"
                        + " first quartile %.2f)", tracks, measuredMedian * 1e3, predictedMedian * 1e3, steps, ratio, lowRatio);
        if (!calibrated) {
            return figures + ": not judged, the device is uncalibrated (roofline)";
        }
        if (steps < MIN_STEPS) {
            return figures + ": not judged, fewer than " + MIN_STEPS + " steps";
        }
        return figures + (within() ? ": within " : ": OUTSIDE ") + Math.round(TOLERANCE * 100) + "%";
    }

    /** The first quartile (the lower of the two nearest ranks). */
    static double firstQuartile(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[(s.length - 1) / 4];
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
