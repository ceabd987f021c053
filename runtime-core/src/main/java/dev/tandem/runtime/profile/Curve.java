package dev.tandem.runtime.profile;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Seconds as a piecewise-linear function of one size (bytes of weights, say) through measured points.
 * Below the first point it runs linearly to a floor at zero size (the op's dispatch cost); beyond the
 * last it continues with the last segment's slope (a large matmul is bandwidth- or compute-bound, so
 * linear in size).
 */
final class Curve {
    private final double[] xs, ys;
    private final double floor;

    /** Points with equal x are averaged. */
    Curve(Map<Double, List<Double>> points, double floor) {
        if (points.isEmpty()) {
            throw new IllegalArgumentException("a curve needs at least one point");
        }
        TreeMap<Double, List<Double>> sorted = new TreeMap<>(points);
        xs = new double[sorted.size()];
        ys = new double[sorted.size()];
        int i = 0;
        for (var e : sorted.entrySet()) {
            xs[i] = e.getKey();
            ys[i] = e.getValue().stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            i++;
        }
        this.floor = Math.min(Math.max(0, floor), ys[0]);
    }

    static Curve of(List<double[]> xy, double floor) {
        Map<Double, List<Double>> m = new TreeMap<>();
        for (double[] p : xy) {
            m.computeIfAbsent(p[0], k -> new ArrayList<>()).add(p[1]);
        }
        return new Curve(m, floor);
    }

    double at(double x) {
        int n = xs.length;
        if (x <= xs[0]) {
            return xs[0] <= 0 ? ys[0] : floor + (ys[0] - floor) * Math.max(0, x) / xs[0];
        }
        for (int i = 1; i < n; i++) {
            if (x <= xs[i]) {
                double t = (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
                return ys[i - 1] + t * (ys[i] - ys[i - 1]);
            }
        }
        double slope = n == 1 ? ys[0] / xs[0] : Math.max(0, (ys[n - 1] - ys[n - 2]) / (xs[n - 1] - xs[n - 2]));
        if (slope == 0) {
            slope = ys[n - 1] / xs[n - 1]; // a flat tail would price a 100x larger op the same: scale instead
        }
        return ys[n - 1] + slope * (x - xs[n - 1]);
    }

    double maxX() { return xs[xs.length - 1]; }
}
