package dev.tandem.runtime.profile;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceEvent;
import dev.tandem.runtime.device.DeviceWeights;
import dev.tandem.runtime.device.UnsupportedWeightFormatException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Times a device's ops over a grid of shapes, each on the device's own clock ({@link Device#record}
 * markers, as the plan executor times ops): a few untimed calls, then {@value #REPEATS} timed runs of
 * enough back-to-back calls to last about {@value #TARGET_MICROS} µs, and a low quantile per call. The
 * grid spans the models Tandem runs here (head dims 8 to 128, contexts to 2k, matrices to 64 MiB)
 * and stays small enough that a host CPU calibrates in well under a minute.
 */
public final class Calibrator {
    /** Told after each point: how many of how many, and what was timed. */
    @FunctionalInterface
    public interface Progress {
        void step(int done, int total, String what);
    }

    static final int REPEATS = 9;
    /**
     * Which of the sorted runs a point keeps: the second fastest of nine (a low quantile, not the
     * median). Other processes only ever add time to a run, and on a loaded 2-core machine more than
     * half the runs of a parallel op can be preempted, which moved medians by 10-100x here.
     */
    static final int QUANTILE_INDEX = 1;
    /** How long each op kind runs untimed before its first point, so the JIT has compiled it. */
    static final long WARMUP_NANOS_PER_KIND = 150_000_000L;
    /**
     * How long one timed run lasts: short, so that on a loaded machine most runs fit between two
     * preemptions (1.5 ms runs at load 19 on 2 cores left Q8_0 256x256 at 65 us a call against 5.9
     * quiet); long enough that the markers' own cost is noise.
     */
    static final int TARGET_MICROS = 500;
    /** {@link #withPointLimit}'s default: far above any host cpu point (the largest take ~0.1 s). */
    public static final double DEFAULT_POINT_LIMIT_SECONDS = 3;
    static final int MAX_CALLS = 4096;
    /** Formats every profile measures; a run adds its model's. */
    public static final List<WeightFormat> BASE_FORMATS = List.of(WeightFormat.F32, WeightFormat.Q8_0);

    /**
     * The shapes a calibration times.
     *
     * @param matvecShapes   matmul shapes (rows, cols) timed hot at batch 1
     * @param batchShapes    shapes timed hot at every batch above 1, and (all but the first) cold at every batch
     * @param batches        matmul batches
     * @param heads          attention configurations (heads, kv heads, head dim)
     * @param decodeStarts   single-row attention positions
     * @param prefillBatches multi-row attention rows
     * @param prefillStarts  multi-row attention first positions
     * @param elements       sizes of the elementwise ops
     */
    public record Grid(int[][] matvecShapes, int[][] batchShapes, int[] batches, int[][] heads, int[] decodeStarts,
                       int[] prefillBatches, int[] prefillStarts, long[] elements) {
        /**
         * 16 KiB to 64 MiB matrices of F32 at batch 1 and to 6 MiB at batches to a prefill chunk (larger
         * ones extrapolate linearly in bytes: they are bandwidth- or compute-bound), head dims 8 to 128,
         * contexts to 2k. The narrow shapes (64 and 128 columns) are the small models' own: a matvec's
         * time follows its rows as well as its bytes (one work-group per row on PoCL, where bytes alone
         * priced the embedded model's 128x128 matvecs at half their time).
         */
        public static final Grid DEFAULT = new Grid(
                new int[][] {{32, 256}, {64, 64}, {128, 128}, {512, 128}, {256, 256}, {768, 768}, {2048, 768}, {2048, 2048},
                        {4096, 4096}},
                new int[][] {{256, 256}, {768, 768}, {2048, 768}}, new int[] {1, 8, 64},
                new int[][] {{8, 4, 8}, {8, 2, 32}, {12, 12, 64}, {32, 8, 128}}, new int[] {15, 127, 511, 2047},
                new int[] {16, 64}, new int[] {0, 256}, new long[] {64, 1024, 16384, 262144});

        /**
         * For devices behind a driver (OpenCL): under two thirds of the points, batches 1 and 64 only (decode and the
         * prefill chunk), so a device whose every new shape costs a kernel specialisation (PoCL
         * compiles per work size) still calibrates in a couple of minutes; the per-point limit
         * bounds any one point. The batch-1 shapes vary rows and bytes apart (512x128 against
         * 256x256, a small model's 4096-row output matmul against 4096x4096), since such a device's
         * matmul costs per row as well as per byte ({@link RowFit}).
         */
        public static final Grid COARSE = new Grid(
                new int[][] {{32, 256}, {64, 64}, {128, 128}, {512, 128}, {256, 256}, {768, 768}, {2048, 768}, {4096, 128},
                        {4096, 4096}},
                new int[][] {{256, 256}, {2048, 768}}, new int[] {1, 64},
                new int[][] {{8, 4, 8}, {12, 12, 64}, {32, 8, 128}}, new int[] {15, 255, 2047},
                new int[] {64}, new int[] {0, 256}, new long[] {64, 4096, 262144});

        /** The host cpu's grid, or the coarse one for any other backend. */
        public static Grid forBackend(String backend) {
            return isHostCpu(backend) ? DEFAULT : COARSE;
        }

        /** Whether backend is the built-in host cpu, the one device timed over the full grid and priced by bytes alone. */
        static boolean isHostCpu(String backend) {
            return backend.equals("cpu");
        }

        /** How many points a calibration of formats (and the other ops when withOthers) times. */
        int points(int formats, boolean withOthers) {
            int perFormat = matvecShapes.length + batchShapes.length * (batches.length - 1) + (batchShapes.length - 1) * batches.length;
            int others = 2 + heads.length * (decodeStarts.length + prefillBatches.length * prefillStarts.length)
                    + OpKinds.ELEMENTWISE.length * elements.length;
            return formats * perFormat + (withOthers ? others : 0);
        }

        long largestMatvecBytes() {
            long m = 0;
            for (int[] s : matvecShapes) {
                m = Math.max(m, (long) s[0] * s[1] * Float.BYTES);
            }
            return m;
        }
    }

    private final Device device;
    private final long cacheBytes;
    private final Grid grid;
    /** When measuring must stop (System.nanoTime), or Long.MAX_VALUE for no limit. */
    private long deadline = Long.MAX_VALUE;
    /** The most one point may take, warm-up included: a slower point keeps the runs it finished. */
    private long pointLimitNanos = (long) (DEFAULT_POINT_LIMIT_SECONDS * 1e9);
    /** When the point being timed must stop taking runs. */
    private long pointDeadline = Long.MAX_VALUE;
    /** Set while a kind's first shape is timed: it runs untimed for a while first. */
    private boolean warming;

    public Calibrator(Device device, long cacheBytes) {
        this(device, cacheBytes, Grid.DEFAULT);
    }

    public Calibrator(Device device, long cacheBytes, Grid grid) {
        this.device = device;
        this.cacheBytes = cacheBytes;
        this.grid = grid;
    }

    /** Stops a calibration that runs past seconds with {@link TooSlowException} (tandem run's first use). */
    public Calibrator withTimeLimit(double seconds) {
        this.deadline = System.nanoTime() + (long) (seconds * 1e9);
        return this;
    }

    /**
     * Bounds each point to seconds, warm-up included: once past it a point takes no further runs and
     * keeps the low quantile of those it has (at least one call), so one slow shape cannot hold up a
     * calibration.
     */
    public Calibrator withPointLimit(double seconds) {
        this.pointLimitNanos = (long) (seconds * 1e9);
        return this;
    }

    /** A calibration that ran past its time limit. */
    public static final class TooSlowException extends dev.tandem.runtime.error.TandemException {
        TooSlowException(String device) {
            super("calibrating " + device + " ran past its time limit");
        }
    }

    /** The host's last-level cache (Linux sysfs), or 32 MiB when it cannot be read. */
    public static long hostCacheBytes() {
        long best = 0;
        for (int i = 0; i < 8; i++) {
            Path size = Path.of("/sys/devices/system/cpu/cpu0/cache/index" + i + "/size");
            try {
                String s = Files.readString(size).trim().toUpperCase(java.util.Locale.ROOT);
                long mult = s.endsWith("K") ? 1024 : s.endsWith("M") ? 1024 * 1024 : 1;
                best = Math.max(best, Long.parseLong(s.replaceAll("[^0-9]", "")) * mult);
            } catch (IOException | NumberFormatException e) {
                // No such level, or not Linux.
            }
        }
        return best > 0 ? best : 32L << 20;
    }

    /** A whole profile: the base formats plus formats. */
    public DeviceProfile calibrate(String deviceKey, Set<WeightFormat> formats, Progress progress) {
        long t0 = System.nanoTime();
        Set<WeightFormat> all = new LinkedHashSet<>(BASE_FORMATS);
        all.addAll(formats);
        List<Measurement> points = twoPasses(all, true, progress);
        return new DeviceProfile(DeviceProfile.FORMAT_VERSION, deviceKey, device.spec().name(), MachineIdentity.current(),
                Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(), cacheBytes, (System.nanoTime() - t0) / 1e9, points);
    }

    /** Matmul points of formats a profile lacks, to add to it. */
    public List<Measurement> matmulsOf(Set<WeightFormat> formats, Progress progress) {
        return twoPasses(formats, false, progress);
    }

    /**
     * The grid measured twice, each point keeping the faster pass. One pass timed a kernel's first
     * shapes before C2 had compiled it (Q8_0 at 256x256 took 7.2 ms a call, at 2048x2048 0.18 ms, and
     * the plans priced from it were 20-60x slow); by the second pass every kernel has run every shape,
     * and a point preempted in one pass is rescued by the other.
     */
    private List<Measurement> twoPasses(Set<WeightFormat> formats, boolean withOthers, Progress progress) {
        Progress p = progress != null ? progress : (d, t, w) -> {};
        List<Measurement> first = measure(formats, withOthers, (d, t, w) -> p.step(d, 2 * t, w + " (pass 1 of 2)"));
        int half = first.size();
        List<Measurement> second = measure(formats, withOthers, (d, t, w) -> p.step(half + d, 2 * t, w + " (pass 2 of 2)"));
        if (second.size() != first.size()) {
            throw new IllegalStateException("the two calibration passes measured different grids");
        }
        List<Measurement> out = new ArrayList<>(first.size());
        for (int i = 0; i < first.size(); i++) {
            Measurement a = first.get(i), b = second.get(i);
            if (!a.kind().equals(b.kind()) || !a.shape().equals(b.shape())) {
                throw new IllegalStateException("the two calibration passes measured different grids at " + a.kind());
            }
            out.add(a.seconds() <= b.seconds() ? a : b);
        }
        return out;
    }

    private List<Measurement> measure(Set<WeightFormat> formats, boolean withOthers, Progress progress) {
        List<Measurement> out = new ArrayList<>();
        Progress p = progress != null ? progress : (d, t, w) -> {};
        try (Arena arena = Arena.ofShared(); Scratch s = new Scratch()) {
            long segmentBytes = Math.max(2 * cacheBytes, grid.largestMatvecBytes()) + 64L * 1024;
            MemorySegment data = arena.allocate(segmentBytes, 64);
            data.fill((byte) 0x3C); // as F32, F16, BF16 and block scales alike: small normal numbers
            List<WeightFormat> computable = formats.stream().filter(f -> computes(data, f)).toList();
            int total = grid.points(computable.size(), withOthers);
            if (withOthers) {
                others(s, out, total, p);
            }
            for (WeightFormat f : computable) {
                for (int[] shape : grid.matvecShapes()) {
                    if (shape[1] % f.blockSize() != 0) { // a K-quant's 256-value blocks cannot make the narrow shapes
                        continue;
                    }
                    warming = shape == grid.matvecShapes()[0];
                    out.add(matmul(s, data, f, shape[0], shape[1], 1, false));
                    warming = false;
                    p.step(out.size(), total, "matmul " + f + " " + shape[0] + "x" + shape[1]);
                }
                for (int b : grid.batches()) {
                    for (int i = 0; i < grid.batchShapes().length; i++) {
                        int[] shape = grid.batchShapes()[i];
                        if (b > 1) {
                            warming = i == 0;
                            out.add(matmul(s, data, f, shape[0], shape[1], b, false));
                            warming = false;
                            p.step(out.size(), total, "matmul " + f + " " + shape[0] + "x" + shape[1] + " batch " + b);
                        }
                        if (i > 0) {
                            out.add(matmul(s, data, f, shape[0], shape[1], b, true));
                            p.step(out.size(), total, "matmul " + f + " " + shape[0] + "x" + shape[1] + " batch " + b + " cold");
                        }
                    }
                }
            }
        }
        return out;
    }

    /** Whether the device takes weights of f at all (an OpenCL device refuses the K-quants): a format it refuses has no points. */
    private boolean computes(MemorySegment data, WeightFormat f) {
        int cols = Math.max(256, f.blockSize());
        try (DeviceWeights w = device.upload(WeightMatrix.of(f, data.asSlice(0, f.bytesFor(cols)), 1, cols))) {
            return w != null;
        } catch (UnsupportedWeightFormatException e) {
            return false;
        }
    }

    private void others(Scratch s, List<Measurement> out, int total, Progress p) {
        DeviceBuffer one = s.buffer(1), oneB = s.buffer(1);
        out.add(point(OpKinds.DISPATCH, Map.of("n", 1L), () -> device.add(one, oneB, 1)));
        p.step(out.size(), total, OpKinds.DISPATCH);
        out.add(point(OpKinds.MARKER, Map.of("n", 1L), device::record));
        p.step(out.size(), total, OpKinds.MARKER);
        boolean firstAttention = true;
        for (int[] h : grid.heads()) {
            for (int start : grid.decodeStarts()) {
                warming = firstAttention;
                firstAttention = false;
                out.add(attention(s, h, start, 1));
                warming = false;
                p.step(out.size(), total, "attention " + Arrays.toString(h) + " at " + start);
            }
            for (int b : grid.prefillBatches()) {
                for (int start : grid.prefillStarts()) {
                    warming = h == grid.heads()[0] && b == grid.prefillBatches()[0] && start == grid.prefillStarts()[0];
                    out.add(attention(s, h, start, b));
                    warming = false;
                    p.step(out.size(), total, "attention " + Arrays.toString(h) + " rows " + b + " at " + start);
                }
            }
        }
        for (String kind : OpKinds.ELEMENTWISE) {
            for (long n : grid.elements()) {
                warming = n == grid.elements()[0];
                out.add(elementwise(s, kind, (int) n));
                warming = false;
                p.step(out.size(), total, kind + " " + n);
            }
        }
    }

    private Measurement attention(Scratch s, int[] h, int start, int batch) {
        int heads = h[0], kvHeads = h[1], headDim = h[2];
        int positions = start + batch;
        DeviceBuffer q = s.filled((long) batch * heads * headDim), out = s.buffer((long) batch * heads * headDim);
        DeviceBuffer keys = s.filled((long) positions * kvHeads * headDim), values = s.filled((long) positions * kvHeads * headDim);
        Measurement m = point(OpKinds.ATTENTION, Map.of("batch", (long) batch, "start", (long) start, "heads", (long) heads,
                "kv_heads", (long) kvHeads, "head_dim", (long) headDim),
                () -> device.attention(out, q, keys, values, start, batch, heads, kvHeads, headDim));
        s.free();
        return m;
    }

    /**
     * An op called again and again on its own output must keep its operands normal floats: denormals
     * take a slow path (~100x on x86), and an rmsnorm scaled by weights of 0.01 in place, or a
     * silu_mul of small gates, shrinks its values into them within a few dozen calls (silu_mul of 64
     * floats was timed at 14.5 us against 0.09 us). So rmsnorm writes elsewhere, and silu_mul's gates
     * sit where g·sigmoid(g) rounds to g (g = 20: sigmoid is 1.0 in float) with ups of exactly 1.
     */
    private Measurement elementwise(Scratch s, String kind, int n) {
        DeviceBuffer a = s.filled(n), b = s.filled(n);
        Runnable op = switch (kind) {
            case OpKinds.RMSNORM -> {
                DeviceBuffer out = s.buffer(n);
                yield () -> device.rmsnorm(out, a, b, n, 1, 1e-5f);
            }
            case OpKinds.SILU -> {
                DeviceBuffer gate = s.constant(n, 20f), up = s.constant(n, 1f);
                yield () -> device.siluMul(gate, up, n);
            }
            case OpKinds.ROPE -> {
                int headDim = Math.min(n, 64);
                DeviceBuffer freq = s.filled(headDim / 2);
                yield () -> device.rope(a, n / headDim, headDim, 7, 1, freq);
            }
            case OpKinds.ADD -> () -> device.add(a, b, n);
            case OpKinds.COPY -> () -> device.copy(a, 0, b, 0, n);
            case OpKinds.EMBED -> {
                DeviceWeights table = s.table(n);
                int[] tokens = {3};
                yield () -> device.embed(table, tokens, a);
            }
            case OpKinds.WRITE -> {
                float[] host = new float[n];
                yield () -> device.write(a, 0, host, 0, n);
            }
            case OpKinds.READ -> {
                float[] host = new float[n];
                yield () -> device.read(a, 0, host, 0, n);
            }
            default -> throw new IllegalArgumentException(kind);
        };
        Measurement m = point(kind, Map.of("n", (long) n), op);
        s.free();
        return m;
    }

    private Measurement matmul(Scratch s, MemorySegment data, WeightFormat f, int rows, int cols, int batch, boolean cold) {
        long bytes = f.bytesFor((long) rows * cols);
        long stride = (bytes + 63) / 64 * 64;
        int copies = cold ? (int) Math.max(1, Math.min(4096, 2 * cacheBytes / stride)) : 1;
        DeviceWeights[] w = new DeviceWeights[copies];
        for (int i = 0; i < copies; i++) {
            w[i] = s.own(device.upload(WeightMatrix.of(f, data.asSlice(i * stride, bytes), rows, cols)));
        }
        DeviceBuffer x = s.filled((long) batch * cols), out = s.buffer((long) batch * rows);
        if (cold && batch == 1) {
            // Each matrix once or twice before timing: a device may prepare a matrix on its first
            // warm product (the host cpu copies Q8_0/Q4_0/K-quant rows into pairs, kernels' PairedRows),
            // and the warm-up cycles through too few of the copies to reach them all.
            for (int i = 0; i < 2 * copies; i++) {
                device.matmul(w[i % copies], x, out, 1);
            }
            device.synchronize();
        }
        int[] next = {0};
        Measurement m = point(OpKinds.matmul(f, cold), Map.of("rows", (long) rows, "cols", (long) cols, "batch", (long) batch),
                () -> device.matmul(w[next[0]++ % copies], x, out, batch));
        s.free();
        return m;
    }

    /**
     * The seconds per call of op on the device's clock: after warm-up, the calls per timed run
     * double until a run lasts {@value #TARGET_MICROS} µs (judged by the fastest of three, so one
     * preempted run does not leave a point timed call by call), then the second fastest of
     * {@value #REPEATS} runs ({@link #QUANTILE_INDEX}); fewer runs when the point passes its limit
     * ({@link #withPointLimit}).
     */
    private Measurement point(String kind, Map<String, Long> shape, Runnable op) {
        long begin = System.nanoTime();
        if (begin > deadline) {
            throw new TooSlowException(device.spec().name());
        }
        pointDeadline = begin + pointLimitNanos;
        if (warming) {
            // At least WARMUP_NANOS_PER_KIND, then on while the JIT still compiles (checked every 50 ms),
            // within a third of the point's limit, so the timed runs keep the rest.
            long cap = begin + pointLimitNanos / 3, check = begin + Math.min(WARMUP_NANOS_PER_KIND, pointLimitNanos / 3);
            JitQuiet jit = new JitQuiet();
            while (System.nanoTime() < cap) {
                op.run();
                // An asynchronous queue (OpenCL) would take a second's worth of enqueues and run them for
                // minutes afterwards (PoCL's 64-row matmul): the warm-up waits for each call.
                device.synchronize();
                if (System.nanoTime() >= check) {
                    if (jit.quiet()) {
                        break;
                    }
                    check = System.nanoTime() + 50_000_000L;
                }
            }
        }
        for (int i = 0; i < 3 && !pointOver(); i++) {
            op.run();
            device.synchronize();
        }
        int calls = 1;
        long[] trials = new long[3];
        int tried;
        while (true) {
            long fastest = Long.MAX_VALUE;
            long wall0 = System.nanoTime();
            tried = 0;
            for (int i = 0; i < trials.length && (i == 0 || !pointOver()); i++) {
                trials[i] = timed(op, calls);
                fastest = Math.min(fastest, trials[i]);
                tried++;
            }
            // The host's clock bounds the doubling too: a device whose markers under-report cannot run it away.
            long wallPerTrial = (System.nanoTime() - wall0) / tried;
            if (fastest >= TARGET_MICROS * 1000L || wallPerTrial >= TARGET_MICROS * 1000L || calls >= MAX_CALLS || pointOver()) {
                break;
            }
            long slowest = Math.max(fastest, wallPerTrial);
            calls = (int) Math.min(MAX_CALLS, Math.max(2L * calls, calls * (TARGET_MICROS * 1000L) / Math.max(1, slowest)));
        }
        // The last trials already ran at the final length: they count among the runs.
        double[] perCall = new double[REPEATS];
        int runs = 0;
        for (int r = 0; r < REPEATS && (r < tried || !pointOver()); r++) {
            perCall[r] = (r < tried ? trials[r] : timed(op, calls)) / 1e9 / calls;
            runs++;
        }
        double[] done = Arrays.copyOf(perCall, runs);
        Arrays.sort(done);
        return new Measurement(kind, shape, Math.max(1e-9, done[Math.min(QUANTILE_INDEX, runs - 1)]));
    }

    private boolean pointOver() {
        return System.nanoTime() > pointDeadline;
    }

    /** Nanoseconds calls back-to-back calls take on the device's clock, the queue drained before and after. */
    private long timed(Runnable op, int calls) {
        device.synchronize();
        DeviceEvent a = device.record();
        for (int i = 0; i < calls; i++) {
            op.run();
            if (System.nanoTime() > deadline) {
                throw new TooSlowException(device.spec().name());
            }
        }
        DeviceEvent b = device.record();
        device.synchronize();
        return Math.max(1, b.nanosSince(a));
    }

    /** Buffers and weights one point placed, freed after it. */
    private final class Scratch implements AutoCloseable {
        private final List<AutoCloseable> owned = new ArrayList<>();
        private Arena tables = Arena.ofShared();

        DeviceBuffer buffer(long floats) {
            return own(device.allocate(Math.max(1, floats)));
        }

        DeviceBuffer filled(long floats) {
            DeviceBuffer b = buffer(floats);
            float[] v = new float[(int) Math.max(1, floats)];
            for (int i = 0; i < v.length; i++) {
                v[i] = 0.01f * ((i % 13) - 6);
            }
            device.write(b, 0, v, 0, v.length);
            return b;
        }

        DeviceBuffer constant(long floats, float value) {
            DeviceBuffer b = buffer(floats);
            float[] v = new float[(int) Math.max(1, floats)];
            Arrays.fill(v, value);
            device.write(b, 0, v, 0, v.length);
            return b;
        }

        /** A 16-row F32 embedding table of cols columns. */
        DeviceWeights table(int cols) {
            MemorySegment seg = tables.allocate(16L * cols * Float.BYTES, 64);
            seg.fill((byte) 0x3C);
            return own(device.upload(WeightMatrix.of(WeightFormat.F32, seg, 16, cols)));
        }

        <T extends AutoCloseable> T own(T t) {
            owned.add(t);
            return t;
        }

        void free() {
            device.synchronize();
            for (int i = owned.size() - 1; i >= 0; i--) {
                try {
                    owned.get(i).close();
                } catch (Exception e) {
                    throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
                }
            }
            owned.clear();
            tables.close();
            tables = Arena.ofShared();
        }

        @Override
        public void close() { free(); tables.close(); }
    }
}
