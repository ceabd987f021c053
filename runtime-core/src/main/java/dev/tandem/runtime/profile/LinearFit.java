package dev.tandem.runtime.profile;

import java.util.List;

/**
 * seconds = c0 + c1·f1 + ... fitted by least squares on relative error (each point weighted by
 * 1/seconds², so a 2 µs point counts as much as a 2 ms one), with the coefficients kept non-negative:
 * a negative one is dropped and the rest refitted, since no op gets cheaper as it grows.
 */
final class LinearFit {
    private final double[] c;

    private LinearFit(double[] c) { this.c = c; }

    /** rows: features (without the constant) then seconds as the last column. */
    static LinearFit of(List<double[]> rows, int features) {
        if (rows.isEmpty()) {
            throw new IllegalArgumentException("a fit needs at least one point");
        }
        boolean[] used = new boolean[features + 1];
        java.util.Arrays.fill(used, true);
        while (true) {
            double[] c = solve(rows, features, used);
            int worst = -1;
            for (int j = 0; j <= features; j++) {
                if (used[j] && c[j] < 0 && (worst < 0 || c[j] < c[worst])) {
                    worst = j;
                }
            }
            if (worst < 0) {
                return new LinearFit(c);
            }
            used[worst] = false;
        }
    }

    double at(double... f) {
        double s = c[0];
        for (int j = 0; j < f.length; j++) {
            s += c[j + 1] * f[j];
        }
        return s;
    }

    double coefficient(int j) { return c[j]; }

    private static double[] solve(List<double[]> rows, int features, boolean[] used) {
        int k = features + 1;
        double[][] a = new double[k][k + 1];
        for (double[] r : rows) {
            double y = r[features];
            double w = 1 / (y * y);
            double[] x = new double[k];
            x[0] = 1;
            System.arraycopy(r, 0, x, 1, features);
            for (int i = 0; i < k; i++) {
                if (!used[i]) continue;
                for (int j = 0; j < k; j++) {
                    if (used[j]) a[i][j] += w * x[i] * x[j];
                }
                a[i][k] += w * x[i] * y;
            }
        }
        for (int i = 0; i < k; i++) {
            if (!used[i]) {
                a[i][i] = 1; // pins an unused coefficient at zero
            }
        }
        // Gaussian elimination with partial pivoting; a singular column (a feature the points never vary) gets 0.
        double[] c = new double[k];
        int[] pivotOf = new int[k];
        java.util.Arrays.fill(pivotOf, -1);
        boolean[] done = new boolean[k];
        for (int col = 0; col < k; col++) {
            int best = -1;
            for (int r = 0; r < k; r++) {
                if (!done[r] && (best < 0 || Math.abs(a[r][col]) > Math.abs(a[best][col]))) best = r;
            }
            if (best < 0 || Math.abs(a[best][col]) < 1e-300) continue;
            done[best] = true;
            pivotOf[col] = best;
            for (int r = 0; r < k; r++) {
                if (r == best) continue;
                double f = a[r][col] / a[best][col];
                if (f == 0) continue;
                for (int j = col; j <= k; j++) a[r][j] -= f * a[best][j];
            }
        }
        for (int col = 0; col < k; col++) {
            c[col] = pivotOf[col] < 0 || !used[col] ? 0 : a[pivotOf[col]][k] / a[pivotOf[col]][col];
        }
        return c;
    }
}
