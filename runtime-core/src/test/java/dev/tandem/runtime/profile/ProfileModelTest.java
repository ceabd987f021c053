package dev.tandem.runtime.profile;

import dev.tandem.kernels.WeightFormat;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProfileModelTest {
    private static final ProfileModel MODEL = ProfileModel.of(
            SyntheticProfiles.profile("cpu", SyntheticProfiles.machine(), 32L << 20, List.of(WeightFormat.F32)));

    @Test
    void curveInterpolatesLinearlyBetweenPointsRunsToTheFloorAndExtrapolatesAlongTheLastSegment() {
        Curve c = Curve.of(List.of(new double[] {100, 2}, new double[] {200, 4}, new double[] {400, 5}, new double[] {200, 6}), 1);
        assertEquals(5, c.at(200), 1e-12, "points at one x are averaged");
        assertEquals(3.5, c.at(150), 1e-12);
        assertEquals(5, c.at(400), 1e-12);
        assertEquals(1.5, c.at(50), 1e-12, "halfway from the dispatch floor at 0 to the first point");
        assertEquals(1, c.at(0), 1e-12);
        assertEquals(5 + 0.0 * 200, c.at(400), 1e-12);
        assertEquals(6.0, Curve.of(List.of(new double[] {100, 2}, new double[] {200, 4}, new double[] {400, 5}), 1).at(600), 1e-12,
                "beyond the last point: the last segment's slope (1 per 200)");
    }

    @Test
    void aFlatTailScalesInsteadOfPricingLargerOpsTheSame() {
        Curve c = Curve.of(List.of(new double[] {100, 2}, new double[] {200, 2}), 0);
        assertEquals(4, c.at(400), 1e-12);
    }

    @Test
    void linearFitRecoversExactCoefficientsAndNeverGoesNegative() {
        LinearFit f = LinearFit.of(List.of(new double[] {1, 10, 3 + 2 * 1 + 0.5 * 10}, new double[] {5, 2, 3 + 10 + 1},
                new double[] {7, 30, 3 + 14 + 15}, new double[] {2, 2, 3 + 4 + 1}), 2);
        assertEquals(3, f.coefficient(0), 1e-9);
        assertEquals(2, f.coefficient(1), 1e-9);
        assertEquals(0.5, f.coefficient(2), 1e-9);
        // Time falling with size would fit a negative slope; the fit drops it instead.
        LinearFit g = LinearFit.of(List.of(new double[] {1, 5}, new double[] {100, 4}), 1);
        assertTrue(g.coefficient(1) >= 0, "slope " + g.coefficient(1));
        assertTrue(g.coefficient(0) > 0);
    }

    @Test
    void matmulReadsMeasuredPointsBackAndInterpolatesInBytesAndBatch() {
        long bytes = WeightFormat.F32.bytesFor(1024L * 1024);
        assertEquals(SyntheticProfiles.matmul(bytes, 1, false), MODEL.matmul(WeightFormat.F32, 1024, 1024, 1, false).orElseThrow(), 1e-15);
        assertEquals(SyntheticProfiles.matmul(bytes, 8, true), MODEL.matmul(WeightFormat.F32, 1024, 1024, 8, true).orElseThrow(), 1e-15);
        // 512x1024 lies between the 256x256 and 1024x1024 points, where the formula is linear in bytes.
        long half = WeightFormat.F32.bytesFor(512L * 1024);
        assertEquals(SyntheticProfiles.matmul(half, 1, false), MODEL.matmul(WeightFormat.F32, 512, 1024, 1, false).orElseThrow(), 1e-12);
        // Batch 4 between the measured 1 and 8: linear in the batch, as the formula is.
        assertEquals(SyntheticProfiles.matmul(bytes, 4, false), MODEL.matmul(WeightFormat.F32, 1024, 1024, 4, false).orElseThrow(), 1e-12);
        // Batch 64 beyond the measured 8: along the line through 1 and 8.
        assertEquals(SyntheticProfiles.matmul(bytes, 64, false), MODEL.matmul(WeightFormat.F32, 1024, 1024, 64, false).orElseThrow(), 1e-12);
        assertTrue(MODEL.matmul(WeightFormat.Q4_0, 1024, 1024, 1, false).isEmpty(), "a format never timed has no figure");
        assertTrue(MODEL.knows(WeightFormat.F32));
        assertFalse(MODEL.knows(WeightFormat.Q4_0));
    }

    /** A work-group device's batch-1 matmul: 5 us + 0.25 us per row + 10 GB/s hot; streaming adds 5 GB/s. */
    private static double perRow(long rows, long bytes, boolean cold) {
        return 5e-6 + 0.25e-6 * rows + bytes / 1e10 + (cold ? bytes / 5e9 : 0);
    }

    private static DeviceProfile perRowProfile(String device, long cacheBytes) {
        List<Measurement> m = new java.util.ArrayList<>(SyntheticProfiles.points(List.of()));
        WeightFormat f = WeightFormat.Q8_0;
        for (int[] s : new int[][] {{32, 256}, {64, 64}, {128, 128}, {512, 128}, {256, 256}, {768, 768}, {2048, 768}, {4096, 4096}}) {
            long bytes = f.bytesFor((long) s[0] * s[1]);
            // The 4096x4096 one is larger than the cache: "hot" in name, streaming in fact.
            m.add(new Measurement(OpKinds.matmul(f, false), Map.of("rows", (long) s[0], "cols", (long) s[1], "batch", 1L),
                    perRow(s[0], bytes, bytes > cacheBytes)));
        }
        m.add(new Measurement(OpKinds.matmul(f, true), Map.of("rows", 2048L, "cols", 768L, "batch", 1L),
                perRow(2048, f.bytesFor(2048L * 768), true)));
        for (int[] s : new int[][] {{256, 256}, {2048, 768}}) {
            m.add(new Measurement(OpKinds.matmul(f, false), Map.of("rows", (long) s[0], "cols", (long) s[1], "batch", 64L),
                    64 * perRow(s[0], f.bytesFor((long) s[0] * s[1]), false)));
        }
        return new DeviceProfile(DeviceProfile.FORMAT_VERSION, device, "synthetic " + device, SyntheticProfiles.machine(),
                "2026-11-30T00:00:00Z", cacheBytes, 1.0, m);
    }

    @Test
    void aWorkGroupDevicesMatmulCostsPerRowAsWellAsPerByteAndStreamingAddsPerByte() {
        long cache = 8L << 20;
        ProfileModel opencl = ProfileModel.of(perRowProfile("opencl", cache));
        WeightFormat f = WeightFormat.Q8_0;
        // A small model's output matmul: many rows, few bytes, between no two grid points in either.
        assertEquals(perRow(4096, f.bytesFor(4096L * 128), false), opencl.matmul(f, 4096, 128, 1, false).orElseThrow(), 1e-12);
        assertEquals(perRow(172, f.bytesFor(172L * 64), false), opencl.matmul(f, 172, 64, 1, false).orElseThrow(), 1e-12);
        assertEquals(perRow(32000, f.bytesFor(32000L * 768), true), opencl.matmul(f, 32000, 768, 1, true).orElseThrow(), 1e-11,
                "streaming: the per-byte cost the cold points add, on top of the in-cache fit");
        // Batch 32, between the fit at 1 and the curve at 64.
        double at64 = 64 * perRow(2048, f.bytesFor(2048L * 768), false);
        assertEquals(perRow(2048, f.bytesFor(2048L * 768), false) * (1 - 31 / 63.0) + at64 * 31 / 63.0,
                opencl.matmul(f, 2048, 768, 32, false).orElseThrow(), 1e-12);
        // The host cpu's profile of the same points is not priced by the row fit: a hot matvec there is the
        // dispatch plus rows times its own per-row cost at that row length (the 128x128 and 512x128 points' mean).
        ProfileModel cpu = ProfileModel.of(perRowProfile("cpu", cache));
        double d = SyntheticProfiles.DISPATCH;
        double perRow128 = ((perRow(128, f.bytesFor(128L * 128), false) - d) / 128 + (perRow(512, f.bytesFor(512L * 128), false) - d) / 512) / 2;
        assertEquals(d + 4096 * perRow128, cpu.matmul(f, 4096, 128, 1, false).orElseThrow(), 1e-12);
        assertTrue(Math.abs(cpu.matmul(f, 4096, 128, 1, false).orElseThrow() - opencl.matmul(f, 4096, 128, 1, false).orElseThrow()) > 1e-6,
                "not the work-group device's row fit");
        ProfileModel withOptions = ProfileModel.of(perRowProfile("opencl:platform=0", cache));
        assertEquals(opencl.matmul(f, 4096, 128, 1, false), withOptions.matmul(f, 4096, 128, 1, false));
    }

    @Test
    void aHotMatvecIsItsRowsTimesThePerRowCostOfItsRowLengthNotItsBytes() {
        // Measured on this machine (Q8_0, 2026-11-30): 128-column rows cost ~25 ns each, 256-column ones 35,
        // so 512x128 and 256x256 take different times for the same bytes.
        double d = SyntheticProfiles.DISPATCH;
        List<Measurement> points = new java.util.ArrayList<>(SyntheticProfiles.points(List.of(WeightFormat.F32)).stream()
                .filter(m -> !m.kind().equals(OpKinds.matmul(WeightFormat.F32, false)) || m.dim("batch", 1) != 1).toList());
        points.add(new Measurement(OpKinds.matmul(WeightFormat.F32, false), Map.of("rows", 128L, "cols", 128L, "batch", 1L), d + 128 * 25e-9));
        points.add(new Measurement(OpKinds.matmul(WeightFormat.F32, false), Map.of("rows", 512L, "cols", 128L, "batch", 1L), d + 512 * 25e-9));
        points.add(new Measurement(OpKinds.matmul(WeightFormat.F32, false), Map.of("rows", 256L, "cols", 256L, "batch", 1L), d + 256 * 35e-9));
        points.add(new Measurement(OpKinds.matmul(WeightFormat.F32, false), Map.of("rows", 768L, "cols", 768L, "batch", 1L), d + 768 * 73e-9));
        ProfileModel p = ProfileModel.of(new DeviceProfile(DeviceProfile.FORMAT_VERSION, "cpu", "cpu", SyntheticProfiles.machine(),
                "2026-11-30T00:00:00Z", 32L << 20, 1.0, points));
        // The embedded model's head: 4096 rows of 128 columns, priced by its rows, not between 256x256 and 768x768 by bytes.
        assertEquals(d + 4096 * 25e-9, p.matmul(WeightFormat.F32, 4096, 128, 1, false).orElseThrow(), 1e-15);
        assertEquals(d + 512 * 25e-9, p.matmul(WeightFormat.F32, 512, 128, 1, false).orElseThrow(), 1e-15);
        // Row lengths between measured ones: the per-row cost linear in between.
        assertEquals(d + 100 * 30e-9, p.matmul(WeightFormat.F32, 100, 192, 1, false).orElseThrow(), 1e-15);
        // Batches above 1 and cold weights keep their curves in bytes.
        assertEquals(MODEL.matmul(WeightFormat.F32, 1024, 1024, 8, false).orElseThrow(),
                p.matmul(WeightFormat.F32, 1024, 1024, 8, false).orElseThrow(), 1e-15);
        assertEquals(MODEL.matmul(WeightFormat.F32, 1024, 1024, 1, true).orElseThrow(),
                p.matmul(WeightFormat.F32, 1024, 1024, 1, true).orElseThrow(), 1e-15);
    }

    @Test
    void attentionAndElementwiseFitsReproduceTheirFormulas() {
        double decode = ProfileModel.pairs(99, 1) * 8;
        assertEquals(SyntheticProfiles.attention(decode, 32), MODEL.attention(99, 1, 8, 32), 1e-12,
                "a head dim between the ones timed");
        double prefill = ProfileModel.pairs(64, 43) * 12;
        assertEquals(SyntheticProfiles.attention(prefill, 64), MODEL.attention(64, 43, 12, 64), 1e-12);
        assertEquals(SyntheticProfiles.elementwise(OpKinds.RMSNORM, 768), MODEL.elementwise(OpKinds.RMSNORM, 768), 1e-15);
        assertEquals(SyntheticProfiles.elementwise(OpKinds.READ, 32000), MODEL.elementwise(OpKinds.READ, 32000), 1e-15);
        assertEquals(SyntheticProfiles.DISPATCH, MODEL.dispatchSeconds());
    }

    @Test
    void pairsCountEveryRowsCausalPositions() {
        assertEquals(100, ProfileModel.pairs(99, 1));
        assertEquals(1 + 2 + 3, ProfileModel.pairs(0, 3));
        assertEquals(11 + 12, ProfileModel.pairs(10, 2));
    }

    @Test
    void aProfileWithoutAnOpKindIsRefusedNamingIt() {
        List<Measurement> points = SyntheticProfiles.points(List.of(WeightFormat.F32)).stream()
                .filter(m -> !m.kind().equals(OpKinds.ROPE)).toList();
        DeviceProfile p = new DeviceProfile(1, "cpu", "x", SyntheticProfiles.machine(), "t", 1, 1, points);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ProfileModel.of(p));
        assertTrue(e.getMessage().contains("rope"), e.getMessage());
        DeviceProfile noDispatch = new DeviceProfile(1, "cpu", "x", SyntheticProfiles.machine(), "t", 1, 1,
                List.of(new Measurement(OpKinds.ADD, Map.of("n", 1L), 1e-6)));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ProfileModel.of(noDispatch)).getMessage().contains("dispatch"));
    }
}
