package dev.tandem.runtime.profile;

import dev.tandem.kernels.WeightFormat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A profile's points as functions of shape: what an op of any size costs on the device.
 * <ul>
 * <li>matmul: per weight format, hot or cold, and batch measured, piecewise-linear in the weights'
 *     bytes ({@link Curve}); between measured batches linear in the batch, beyond the largest along
 *     the last two. On a device that runs a matmul as one work-group per weight row (any backend but
 *     the host cpu: OpenCL), a batch-1 matmul is instead fitted as a + b·rows + c·bytes over the hot
 *     points that fit in the last-level cache, streaming from memory adding d·bytes ({@link RowFit});</li>
 * <li>attention: fitted (one fit for single rows, one for prefill chunks) as
 *     a + b·pairs·heads + c·pairs·heads·headDim, pairs being (query row, cached position) pairs;</li>
 * <li>every other op: a + b·n over the floats it touches;</li>
 * <li>dispatch: the fastest empty op, the floor of every curve.</li>
 * </ul>
 */
public final class ProfileModel {
    /** Curves by "kind|batch". */
    private final Map<String, TreeMap<Integer, Curve>> matmul = new HashMap<>();
    /** Batch-1 matmuls by format, on a work-group device (see {@link RowFit}); empty on the host cpu. */
    private final Map<WeightFormat, RowFit> rowFits = new HashMap<>();
    private final Map<String, LinearFit> linear = new HashMap<>();
    private final LinearFit attentionDecode, attentionPrefill;
    private final double dispatch;
    private final long cacheBytes;

    private ProfileModel(DeviceProfile p) {
        this.cacheBytes = p.cacheBytes();
        double d = Double.NaN;
        Map<String, Map<Integer, List<double[]>>> mm = new HashMap<>();
        Map<String, List<double[]>> lin = new HashMap<>();
        List<double[]> attDecode = new ArrayList<>(), attPrefill = new ArrayList<>();
        for (Measurement m : p.measurements()) {
            String k = m.kind();
            if (k.equals(OpKinds.DISPATCH)) {
                d = Double.isNaN(d) ? m.seconds() : Math.min(d, m.seconds());
            } else if (k.startsWith("matmul ")) {
                WeightFormat f = WeightFormat.valueOf(k.split(" ")[1]);
                double bytes = f.bytesFor(m.dim("rows", 0) * m.dim("cols", 0));
                mm.computeIfAbsent(k, x -> new TreeMap<>()).computeIfAbsent((int) m.dim("batch", 1), x -> new ArrayList<>())
                        .add(new double[] {bytes, m.seconds()});
            } else if (k.equals(OpKinds.ATTENTION)) {
                long batch = m.dim("batch", 1);
                double pairsHeads = pairs(m.dim("start", 0), batch) * m.dim("heads", 1);
                (batch == 1 ? attDecode : attPrefill).add(new double[] {pairsHeads, pairsHeads * m.dim("head_dim", 1), m.seconds()});
            } else {
                lin.computeIfAbsent(k, x -> new ArrayList<>()).add(new double[] {m.dim("n", 0), m.seconds()});
            }
        }
        if (Double.isNaN(d)) {
            throw new IllegalArgumentException("no " + OpKinds.DISPATCH + " measurement");
        }
        this.dispatch = d;
        mm.forEach((kind, byBatch) -> {
            TreeMap<Integer, Curve> curves = new TreeMap<>();
            byBatch.forEach((b, pts) -> curves.put(b, Curve.of(pts, dispatch)));
            matmul.put(kind, curves);
        });
        if (RowFit.appliesTo(p.device())) {
            for (WeightFormat f : WeightFormat.values()) {
                RowFit.of(p, f, dispatch).ifPresent(fit -> rowFits.put(f, fit));
            }
        }
        lin.forEach((kind, pts) -> linear.put(kind, LinearFit.of(pts, 1)));
        if (attDecode.isEmpty() || attPrefill.isEmpty()) {
            throw new IllegalArgumentException("attention needs single-row and multi-row measurements");
        }
        this.attentionDecode = LinearFit.of(attDecode, 2);
        this.attentionPrefill = LinearFit.of(attPrefill, 2);
        for (String k : OpKinds.ELEMENTWISE) {
            if (!linear.containsKey(k)) {
                throw new IllegalArgumentException("no " + k + " measurement");
            }
        }
    }

    /**
     * The model of a profile.
     * @throws IllegalArgumentException naming the op kind a profile lacks
     */
    public static ProfileModel of(DeviceProfile p) {
        return new ProfileModel(p);
    }

    /** (query row, cached position) pairs of rows [0, batch) at positions start + b, each seeing start + b + 1 positions. */
    static double pairs(long start, long batch) {
        return batch * (start + 1.0) + batch * (batch - 1) / 2.0;
    }

    public double dispatchSeconds() { return dispatch; }

    public long cacheBytes() { return cacheBytes; }

    /** Whether matmuls of this format were measured. */
    public boolean knows(WeightFormat f) {
        return matmul.containsKey(OpKinds.matmul(f, false));
    }

    /** One matmul of rows×cols weights over batch rows; cold when the weights stream from memory. Empty for a format not measured. */
    public Optional<Double> matmul(WeightFormat f, long rows, long cols, int batch, boolean cold) {
        RowFit rows1 = rowFits.get(f);
        if (batch == 1 && rows1 != null) {
            return Optional.of(rows1.at(rows, cols, cold));
        }
        TreeMap<Integer, Curve> curves = matmul.get(OpKinds.matmul(f, cold));
        if (curves == null || cold && curves.floorKey(batch) == null) {
            curves = matmul.get(OpKinds.matmul(f, false));
        }
        if (curves == null) {
            return Optional.empty();
        }
        double bytes = f.bytesFor(rows * cols);
        var lo = curves.floorEntry(batch);
        if (lo != null && lo.getKey() == 1 && rows1 != null) {
            // Between batch 1 and the next measured batch: from the row fit's batch-1 time, not the bytes curve's.
            var hi = curves.ceilingEntry(batch);
            if (hi == null || hi.getKey() == 1) {
                return Optional.of(rows1.at(rows, cols, cold) * batch);
            }
            double t = (double) (batch - 1) / (hi.getKey() - 1);
            return Optional.of(rows1.at(rows, cols, cold) * (1 - t) + hi.getValue().at(bytes) * t);
        }
        var hi = curves.ceilingEntry(batch);
        if (lo == null) {
            return Optional.of(hi.getValue().at(bytes) * batch / hi.getKey()); // below the smallest batch measured: scale
        }
        if (hi == null) {
            var below = curves.lowerEntry(lo.getKey());
            if (below == null) {
                return Optional.of(lo.getValue().at(bytes) * batch / lo.getKey());
            }
            double y1 = below.getValue().at(bytes), y2 = lo.getValue().at(bytes);
            double slope = Math.max(0, (y2 - y1) / (lo.getKey() - below.getKey()));
            return Optional.of(y2 + slope * (batch - lo.getKey()));
        }
        if (lo.getKey().equals(hi.getKey())) {
            return Optional.of(lo.getValue().at(bytes));
        }
        double t = (double) (batch - lo.getKey()) / (hi.getKey() - lo.getKey());
        return Optional.of(lo.getValue().at(bytes) * (1 - t) + hi.getValue().at(bytes) * t);
    }

    /** Causal attention of batch rows at positions start.. over the cached keys and values. */
    public double attention(long start, int batch, int heads, int headDim) {
        double ph = pairs(start, batch) * heads;
        LinearFit fit = batch == 1 ? attentionDecode : attentionPrefill;
        return Math.max(dispatch, fit.at(ph, ph * headDim));
    }

    /** An elementwise op (rmsnorm, rope, silu_mul, add, copy, embed, write, read) over n floats. */
    public double elementwise(String kind, long n) {
        LinearFit fit = linear.get(kind);
        if (fit == null) {
            throw new IllegalArgumentException("unknown op kind " + kind);
        }
        return Math.max(dispatch, fit.at(n));
    }
}
