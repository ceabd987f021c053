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
 *     points that fit in the last-level cache, streaming from memory adding d·bytes ({@link RowFit}).
 *     On the host cpu a hot matvec (batch 1) is the dispatch plus its rows times a per-row cost
 *     piecewise-linear in the row's length: bytes alone priced the embedded model's head (4096 rows
 *     of 128 columns, 557 KB) between 256x256 and 768x768, 46 us against 107 measured, while its
 *     rows cost what the 128x128 and 512x128 points' rows cost (25-26 ns each);</li>
 * <li>attention: fitted (one fit for single rows, one for prefill chunks) as
 *     a + b·pairs·heads + c·pairs·heads·headDim, pairs being (query row, cached position) pairs;</li>
 * <li>every other op: a + b·n over the floats it touches;</li>
 * <li>dispatch: the fastest empty op, the floor of every curve;</li>
 * <li>marker: one {@code record()} marker (the dispatch where a profile has none).</li>
 * </ul>
 */
public final class ProfileModel {
    /** Curves by "kind|batch". */
    private final Map<String, TreeMap<Integer, Curve>> matmul = new HashMap<>();
    /** Host cpu: hot matvecs' seconds per row (less the dispatch) by the row's columns, by "matmul F hot". */
    private final Map<String, Curve> matvecPerRow = new HashMap<>();
    /** Batch-1 matmuls by format, on a work-group device (see {@link RowFit}); empty on the host cpu. */
    private final Map<WeightFormat, RowFit> rowFits = new HashMap<>();
    private final Map<String, LinearFit> linear = new HashMap<>();
    private final LinearFit attentionDecode, attentionPrefill;
    private final double dispatch, marker;
    private final long cacheBytes;

    private ProfileModel(DeviceProfile p) {
        this.cacheBytes = p.cacheBytes();
        double d = Double.NaN, mark = Double.NaN;
        Map<String, Map<Integer, List<double[]>>> mm = new HashMap<>();
        Map<String, List<double[]>> lin = new HashMap<>();
        Map<String, List<double[]>> perRow = new HashMap<>();
        List<double[]> attDecode = new ArrayList<>(), attPrefill = new ArrayList<>();
        for (Measurement m : p.measurements()) {
            String k = m.kind();
            if (k.equals(OpKinds.DISPATCH)) {
                d = Double.isNaN(d) ? m.seconds() : Math.min(d, m.seconds());
            } else if (k.equals(OpKinds.MARKER)) {
                mark = Double.isNaN(mark) ? m.seconds() : Math.min(mark, m.seconds());
            } else if (k.startsWith("matmul ")) {
                WeightFormat f = WeightFormat.valueOf(k.split(" ")[1]);
                double bytes = f.bytesFor(m.dim("rows", 0) * m.dim("cols", 0));
                mm.computeIfAbsent(k, x -> new TreeMap<>()).computeIfAbsent((int) m.dim("batch", 1), x -> new ArrayList<>())
                        .add(new double[] {bytes, m.seconds()});
                if (m.dim("batch", 1) == 1 && k.endsWith(" hot")) {
                    perRow.computeIfAbsent(k, x -> new ArrayList<>()).add(new double[] {m.dim("cols", 0), m.seconds(), m.dim("rows", 1)});
                }
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
        this.marker = Double.isNaN(mark) ? d : mark;
        mm.forEach((kind, byBatch) -> {
            TreeMap<Integer, Curve> curves = new TreeMap<>();
            byBatch.forEach((b, pts) -> curves.put(b, Curve.of(pts, dispatch)));
            matmul.put(kind, curves);
        });
        if (RowFit.appliesTo(p.device())) {
            for (WeightFormat f : WeightFormat.values()) {
                RowFit.of(p, f, dispatch).ifPresent(fit -> rowFits.put(f, fit));
            }
        } else {
            perRow.forEach((kind, pts) -> matvecPerRow.put(kind, Curve.of(pts.stream()
                    .map(p1 -> new double[] {p1[0], Math.max(0, p1[1] - dispatch) / p1[2]}).toList(), 0)));
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

    /** An empty op: what one kernel call costs beyond its work. */
    public double dispatchSeconds() { return dispatch; }

    /** One record() marker; the dispatch for a profile measured before markers were. */
    public double markerSeconds() { return marker; }

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
        String kind = OpKinds.matmul(f, cold);
        TreeMap<Integer, Curve> curves = matmul.get(kind);
        if (curves == null || cold && curves.floorKey(batch) == null) {
            kind = OpKinds.matmul(f, false);
            curves = matmul.get(kind);
        }
        if (curves == null) {
            return Optional.empty();
        }
        Curve perRow = matvecPerRow.get(kind);
        double bytes = f.bytesFor(rows * cols);
        java.util.function.ToDoubleFunction<Map.Entry<Integer, Curve>> at = e -> e.getKey() == 1 && perRow != null
                ? dispatch + rows * perRow.at(cols) : e.getValue().at(bytes);
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
            return Optional.of(at.applyAsDouble(hi) * batch / hi.getKey()); // below the smallest batch measured: scale
        }
        if (hi == null) {
            var below = curves.lowerEntry(lo.getKey());
            if (below == null) {
                return Optional.of(at.applyAsDouble(lo) * batch / lo.getKey());
            }
            double y1 = at.applyAsDouble(below), y2 = at.applyAsDouble(lo);
            double slope = Math.max(0, (y2 - y1) / (lo.getKey() - below.getKey()));
            return Optional.of(y2 + slope * (batch - lo.getKey()));
        }
        if (lo.getKey().equals(hi.getKey())) {
            return Optional.of(at.applyAsDouble(lo));
        }
        double t = (double) (batch - lo.getKey()) / (hi.getKey() - lo.getKey());
        return Optional.of(at.applyAsDouble(lo) * (1 - t) + at.applyAsDouble(hi) * t);
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
