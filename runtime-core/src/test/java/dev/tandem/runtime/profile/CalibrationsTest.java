package dev.tandem.runtime.profile;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.DeviceSource;
import dev.tandem.runtime.device.DeviceKind;
import dev.tandem.runtime.device.DeviceSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Calibration on first use, on the host CPU over a small grid: what is measured and kept, never how fast. */
class CalibrationsTest {
    @TempDir
    Path dir;

    static final Calibrator.Grid SMALL = new Calibrator.Grid(new int[][] {{32, 256}, {64, 256}}, new int[][] {{32, 256}, {64, 256}},
            new int[] {1, 4}, new int[][] {{2, 1, 8}, {2, 2, 16}}, new int[] {3, 31}, new int[] {4}, new int[] {0, 8},
            new long[] {64, 512});

    private static final DeviceGroup CPU = new DeviceGroup("cpu", 1,
            new DeviceSpec("cpu", DeviceKind.CPU, 1L << 30, 1e10, Map.of(), 10, 1e-6, Map.of()), DeviceSource.PRESENT, 1);

    @Test
    void firstUseMeasuresTheWholeGridThenFindsItThenAddsOnlyAMissingFormat() {
        ProfileStore store = new ProfileStore(dir, MachineIdentity.current());
        List<String> steps = new ArrayList<>();
        int[] last = {0, 0};
        Calibrations.Outcome first = Calibrations.ensure(store, CPU, Set.of(WeightFormat.F32), SMALL, (done, total, what) -> {
            steps.add(what);
            last[0] = done;
            last[1] = total;
        }, w -> { throw new AssertionError("no warning expected: " + w); });
        assertEquals(Calibrations.Outcome.CALIBRATED, first);
        int points = SMALL.points(2, true);
        assertEquals(2 * points, last[1], "F32 and Q8_0, the base formats, plus the other ops, measured in two passes");
        assertEquals(last[1], last[0], "the progress reached its total");
        assertEquals(last[1], steps.size());
        assertTrue(steps.getFirst().endsWith("(pass 1 of 2)") && steps.getLast().endsWith("(pass 2 of 2)"), steps.toString());
        DeviceProfile p = new ProfileStore(dir, MachineIdentity.current()).read("cpu");
        assertEquals(points, p.measurements().size(), "each point once: the faster of its two passes");
        assertTrue(p.measurements().stream().allMatch(m -> m.seconds() > 0));
        assertTrue(p.measurements().stream().anyMatch(m -> m.kind().equals("matmul Q8_0 cold")));
        ProfileModel model = ProfileModel.of(p);
        assertTrue(model.knows(WeightFormat.F32) && model.knows(WeightFormat.Q8_0) && !model.knows(WeightFormat.Q4_0));

        steps.clear();
        assertEquals(Calibrations.Outcome.FOUND, Calibrations.ensure(store, CPU, Set.of(WeightFormat.Q8_0), SMALL,
                (d, t, w) -> steps.add(w), w -> {}));
        assertTrue(steps.isEmpty(), "nothing measured: " + steps);

        assertEquals(Calibrations.Outcome.EXTENDED, Calibrations.ensure(store, CPU, Set.of(WeightFormat.Q4_0), SMALL,
                (d, t, w) -> steps.add(w), w -> {}));
        assertTrue(steps.stream().allMatch(s -> s.startsWith("matmul Q4_0")), steps.toString());
        DeviceProfile extended = new ProfileStore(dir, MachineIdentity.current()).read("cpu");
        assertEquals(p.measurements().size() + SMALL.points(1, false), extended.measurements().size());
        assertTrue(ProfileModel.of(extended).knows(WeightFormat.Q4_0));
    }

    @Test
    void aCorruptedProfileIsIgnoredWithAWarningAndRecalibrated() throws Exception {
        ProfileStore store = new ProfileStore(dir, MachineIdentity.current());
        Files.createDirectories(dir);
        Files.writeString(store.file("cpu"), "not json at all");
        List<String> warnings = new ArrayList<>();
        assertEquals(Calibrations.Outcome.CALIBRATED, Calibrations.ensure(store, CPU, Set.of(), SMALL, (d, t, w) -> {}, warnings::add));
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.getFirst().contains(store.file("cpu").toString()) && warnings.getFirst().contains("recalibrating"),
                warnings.getFirst());
        assertTrue(new ProfileStore(dir, MachineIdentity.current()).find("cpu").isPresent(), "the file was replaced by a good one");
    }

    @Test
    void aFirstUseThatRunsPastItsLimitStopsAndSavesNothing() {
        ProfileStore store = new ProfileStore(dir, MachineIdentity.current());
        org.junit.jupiter.api.Assertions.assertThrows(Calibrator.TooSlowException.class,
                () -> Calibrations.ensure(store, CPU, Set.of(), SMALL, 0.0, (d, t, w) -> {}, w -> {}));
        assertTrue(!Files.exists(store.file("cpu")), "no partial profile");
    }

    /** A K-quant (a Q4_0 file's Q6_K classifier) skips the grid's narrow shapes its 256-value blocks cannot make. */
    @Test
    void aKQuantCalibratesWithoutTheShapesItsBlocksCannotMake() {
        Calibrator.Grid narrow = new Calibrator.Grid(new int[][] {{32, 256}, {64, 64}, {128, 128}, {64, 512}}, new int[][] {{32, 256}, {64, 256}},
                new int[] {1, 4}, new int[][] {{2, 1, 8}}, new int[] {3}, new int[] {4}, new int[] {0},
                new long[] {64});
        try (var device = dev.tandem.runtime.device.Devices.open("cpu")) {
            DeviceProfile p = new Calibrator(device, 1L << 20, narrow).withPointLimit(1e-9)
                    .calibrate("cpu", Set.of(dev.tandem.kernels.WeightFormat.Q6_K), null);
            var q6 = p.measurements().stream().filter(m -> m.kind().contains("Q6_K")).toList();
            assertTrue(q6.stream().anyMatch(m -> m.shape().get("cols") == 512), q6.toString());
            assertTrue(q6.stream().allMatch(m -> m.shape().get("cols") % 256 == 0), q6.toString());
        }
    }

    @Test
    void aPointPastItsLimitKeepsTheRunsItFinishedSoEveryPointIsStillThere() {
        // A limit far below one timed run: every point stops after its first run, none is lost.
        try (var device = dev.tandem.runtime.device.Devices.open("cpu")) {
            DeviceProfile p = new Calibrator(device, 1L << 20, SMALL).withPointLimit(1e-9).calibrate("cpu", Set.of(), null);
            assertEquals(SMALL.points(2, true), p.measurements().size());
            assertTrue(p.measurements().stream().allMatch(m -> m.seconds() > 0 && Double.isFinite(m.seconds())), p.measurements().toString());
            ProfileModel.of(p); // a whole profile: every op kind the model needs is there
        }
    }

    @Test
    void devicesOtherThanTheHostGetTheCoarseGridWithFewerBatchesAndPoints() {
        assertEquals(Calibrator.Grid.DEFAULT, Calibrator.Grid.forBackend("cpu"));
        Calibrator.Grid coarse = Calibrator.Grid.forBackend("opencl");
        assertEquals(Calibrator.Grid.COARSE, coarse);
        assertTrue(coarse.batches().length < Calibrator.Grid.DEFAULT.batches().length);
        assertTrue(coarse.points(2, true) * 3 < Calibrator.Grid.DEFAULT.points(2, true) * 2,
                coarse.points(2, true) + " vs " + Calibrator.Grid.DEFAULT.points(2, true));
        // Still enough for every fit: decode and prefill attention, three elementwise sizes, batch 1 and a prefill chunk.
        assertTrue(java.util.Arrays.stream(coarse.batches()).anyMatch(b -> b == 1));
        assertTrue(java.util.Arrays.stream(coarse.batches()).anyMatch(b -> b == 64));
        assertTrue(coarse.elements().length >= 3 && coarse.prefillBatches().length >= 1);
    }
}
