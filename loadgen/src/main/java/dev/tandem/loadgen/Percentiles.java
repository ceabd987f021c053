package dev.tandem.loadgen;

import java.util.Arrays;

/**
 * Percentiles by linear interpolation between closest ranks (NumPy's default, "linear"): for
 * sorted values x[0..n-1], percentile p sits at rank h = (n-1)·p/100 and is
 * x[floor h] + (h - floor h)·(x[floor h + 1] - x[floor h]).
 */
public final class Percentiles {
    private Percentiles() {}

    /** p50, p90 and p99 of some values, in the values' unit; null fields when there are none. */
    public record Summary(Double p50, Double p90, Double p99) {
        static final Summary EMPTY = new Summary(null, null, null);
    }

    public static Summary summary(double[] values) {
        if (values.length == 0) {
            return Summary.EMPTY;
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return new Summary(ofSorted(sorted, 50), ofSorted(sorted, 90), ofSorted(sorted, 99));
    }

    /** Percentile p in [0, 100] of values (in any order, none NaN). */
    public static double of(double[] values, double p) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return ofSorted(sorted, p);
    }

    static double ofSorted(double[] sorted, double p) {
        if (sorted.length == 0) {
            throw new IllegalArgumentException("no values to take a percentile of");
        }
        if (!(p >= 0 && p <= 100)) {
            throw new IllegalArgumentException("percentile must be in [0, 100], got " + p);
        }
        double h = (sorted.length - 1) * p / 100;
        int lo = (int) Math.floor(h);
        if (lo >= sorted.length - 1) {
            return sorted[sorted.length - 1];
        }
        return sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]);
    }
}
