package dev.tandem.runtime.profile;

import dev.tandem.kernels.WeightFormat;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A batch-1 matmul on a device that runs it as one work-group per weight row (tandem.cl's matmul on
 * OpenCL): seconds = a + b·rows + c·bytes while the weights sit in the last-level cache, plus d·bytes
 * when they stream from memory. On PoCL each work-group is a loop on one of a few host threads with a
 * fixed cost, so rows count apart from bytes: the embedded model's 4096×128 Q8_0 output matmul took
 * ~1 ms a step where a curve in bytes alone, through square matrices, gave 0.2 ms (its 557 KB lie
 * between 768×768's and 256×256's), and a 512×128 matmul takes twice a 256×256 one of the same bytes.
 * Fitted over the coarse grid's eight shapes (32 to 4096 rows, 64 to 4096 columns) it reproduces each
 * within a few percent, where the bytes curve was off by up to 5× between its points.
 */
final class RowFit {
    /** Hot points a fit needs: three coefficients. */
    private static final int MIN_POINTS = 3;

    private final WeightFormat format;
    private final LinearFit hot;
    /** Seconds per byte streaming adds (d), from the cold points; 0 when they are no slower. */
    private final double coldPerByte;
    private final double floor;

    private RowFit(WeightFormat format, LinearFit hot, double coldPerByte, double floor) {
        this.format = format;
        this.hot = hot;
        this.coldPerByte = coldPerByte;
        this.floor = floor;
    }

    /**
     * Whether a profile's device is priced this way: any backend but the host cpu, whose matmul splits
     * bytes over threads (and whose curves in bytes the cpu's own work tunes), so the same device gets
     * the coarse grid ({@link Calibrator.Grid#forBackend}) and this fit.
     */
    static boolean appliesTo(String deviceKey) {
        return !Calibrator.Grid.isHostCpu(deviceKey.split(":", 2)[0]);
    }

    /**
     * The fit of format's batch-1 points in p, or empty with fewer than {@value #MIN_POINTS} hot points
     * in the cache. A "hot" point larger than the cache streams as a cold one does, so it counts as cold.
     */
    static Optional<RowFit> of(DeviceProfile p, WeightFormat format, double dispatch) {
        List<double[]> hot = new ArrayList<>(), cold = new ArrayList<>();
        for (Measurement m : p.measurements()) {
            boolean hotKind = m.kind().equals(OpKinds.matmul(format, false));
            if ((!hotKind && !m.kind().equals(OpKinds.matmul(format, true))) || m.dim("batch", 1) != 1) {
                continue;
            }
            long rows = m.dim("rows", 0);
            double bytes = format.bytesFor(rows * m.dim("cols", 0));
            (hotKind && bytes <= p.cacheBytes() ? hot : cold).add(new double[] {rows, bytes, m.seconds()});
        }
        if (hot.size() < MIN_POINTS) {
            return Optional.empty();
        }
        LinearFit fit = LinearFit.of(hot, 2);
        double extra = 0;
        for (double[] c : cold) {
            extra += Math.max(0, c[2] - fit.at(c[0], c[1])) / c[1];
        }
        return Optional.of(new RowFit(format, fit, cold.isEmpty() ? 0 : extra / cold.size(), dispatch));
    }

    /** Seconds of one rows×cols matmul of one row of activations; cold when the weights stream from memory. */
    double at(long rows, long cols, boolean cold) {
        double bytes = format.bytesFor(rows * cols);
        return Math.max(floor, hot.at(rows, bytes) + (cold ? coldPerByte * bytes : 0));
    }
}
