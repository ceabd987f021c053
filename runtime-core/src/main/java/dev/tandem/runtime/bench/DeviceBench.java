package dev.tandem.runtime.bench;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.ModelShapes;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceEvent;
import dev.tandem.runtime.device.DeviceWeights;
import dev.tandem.runtime.exec.PlanForward;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.LlamaWeights;
import dev.tandem.runtime.model.SyntheticModel;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Measures a device through the SPI alone, so it runs on any backend: the device-to-device copy
 * bandwidth (the ceiling), batch-1 matmul (matvec) per weight format against it, batch-P matmul in
 * FLOP/s, and decode and prefill of synthetic models of real shapes (random weights built in memory,
 * {@link SyntheticWeights}) against the floor their bytes set at the copy bandwidth.
 *
 * Every figure is a median over timed runs after warm-up runs. A run is timed twice: by the device's
 * own events around the op ({@link Device#record()}) and by the host's clock between two
 * {@link Device#synchronize()}s; the event time is the figure, the wall time is kept beside it.
 * Bandwidth conventions: the copy reads and writes every byte, and its GB/s count both (as torch's
 * and CUDA's bandwidth tests do); a matvec or a decode step only reads its weights, so its GB/s are
 * read bytes, and its fraction and floor are taken against the copy's read+write figure (the
 * memory's total traffic rate).
 */
public final class DeviceBench {
    /** What to measure. Sizes are bytes; formats and models are run in the order given. */
    public record Settings(long copyBytes, long matvecBytes, int matvecCols, List<WeightFormat> matvecFormats,
                           int batchTokens, List<ModelCase> models, int decodeTokens, int warmup, int runs) {
        public Settings {
            matvecFormats = List.copyOf(matvecFormats);
            models = List.copyOf(models);
            if (copyBytes < 4 || matvecBytes < 1 || matvecCols < 32 || batchTokens < 1 || decodeTokens < 1
                    || warmup < 0 || runs < 1) {
                throw new IllegalArgumentException("device bench needs copy >= 4 bytes, matvec >= 1 byte, cols >= 32, "
                        + "batch, decode tokens and runs >= 1, warm-up >= 0");
            }
        }
    }

    /** A synthetic model: a shape of {@link ModelShapes} (or "synthetic", SyntheticModel's small one) in one format. */
    public record ModelCase(String shape, WeightFormat format) {
        /** "llama-3-8b:F16". */
        public static ModelCase parse(String spec) {
            int colon = spec.lastIndexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("model case '" + spec + "' is not SHAPE:FORMAT (e.g. llama-3-8b:F16)");
            }
            return new ModelCase(spec.substring(0, colon), WeightFormat.valueOf(spec.substring(colon + 1).toUpperCase()));
        }

        @Override
        public String toString() { return shape + ":" + format; }
    }

    /** One op's timing: median seconds by device events and by the host clock around synchronize. */
    public record Timing(double eventSeconds, double wallSeconds, int runs) {}

    public record Copy(long bytes, Timing timing) {
        public double readWriteGBps() { return 2.0 * bytes / timing.eventSeconds() / 1e9; }

        public double oneWayGBps() { return bytes / timing.eventSeconds() / 1e9; }
    }

    /** A matmul of rows x cols weights against batch activation rows. */
    public record Matmul(WeightFormat format, int rows, int cols, int batch, long weightBytes, Timing timing) {
        public double weightGBps() { return weightBytes / timing.eventSeconds() / 1e9; }

        public double tflops() { return 2.0 * rows * cols * batch / timing.eventSeconds() / 1e12; }
    }

    /**
     * A synthetic model: prefill of batchTokens from position 0 (wall clock: the forward returns the
     * logits), then decode steps at the positions after it, each timed alone.
     */
    public record ModelRun(ModelCase model, long weightBytes, long decodeBytesPerToken, long prefillFlops,
                           int prefillTokens, Timing prefill, int decodePosition, Timing decode) {
        public double prefillTflops() { return prefillFlops / prefill.wallSeconds() / 1e12; }

        public double decodeTokensPerSecond() { return 1 / decode.wallSeconds(); }

        /** Seconds a decode step takes at copyGBps (read+write) if it only read its bytes once. */
        public double floorSeconds(double copyGBps) { return decodeBytesPerToken / (copyGBps * 1e9); }
    }

    private final Device device;
    private final Settings settings;
    private final Consumer<String> progress;

    public DeviceBench(Device device, Settings settings, Consumer<String> progress) {
        this.device = device;
        this.settings = settings;
        this.progress = progress;
    }

    /** Runs every section; a section that fails is reported with its error and the rest still run. */
    public DeviceBenchReport run() {
        List<String> errors = new ArrayList<>();
        Copy copy = copy();
        // Each figure goes out as soon as it is measured, so a run stopped by a time limit keeps what it had.
        progress.accept(String.format(java.util.Locale.ROOT, "copy: %.1f GB/s read+write", copy.readWriteGBps()));
        List<Matmul> matvecs = new ArrayList<>();
        List<Matmul> batched = new ArrayList<>();
        for (WeightFormat f : settings.matvecFormats()) {
            try {
                matmuls(f, matvecs, batched);
                Matmul one = matvecs.getLast(), many = batched.getLast();
                progress.accept(String.format(java.util.Locale.ROOT, "matmul %s: batch 1 %.1f GB/s (%.1f%% of copy), batch %d %.2f TFLOP/s",
                        f, one.weightGBps(), 100 * one.weightGBps() / copy.readWriteGBps(), many.batch(), many.tflops()));
            } catch (RuntimeException e) {
                errors.add("matmul " + f + ": " + e);
            }
        }
        List<ModelRun> models = new ArrayList<>();
        for (ModelCase m : settings.models()) {
            try {
                ModelRun r = model(m);
                models.add(r);
                progress.accept(String.format(java.util.Locale.ROOT, "model %s: decode %.3f ms/token, %.2fx the floor; prefill %.2f TFLOP/s",
                        m, r.decode().wallSeconds() * 1e3, r.decode().wallSeconds() / r.floorSeconds(copy.readWriteGBps()),
                        r.prefillTflops()));
            } catch (RuntimeException | OutOfMemoryError e) {
                errors.add("model " + m + ": " + e);
            }
        }
        return new DeviceBenchReport(device.spec(), settings, copy, matvecs, batched, models, errors);
    }

    Copy copy() {
        long floats = settings.copyBytes() / Float.BYTES;
        progress.accept("copy " + floats * Float.BYTES + " bytes");
        try (DeviceBuffer a = device.allocate(floats); DeviceBuffer b = device.allocate(floats)) {
            fill(a, floats);
            Timing t = time(() -> device.copy(a, 0, b, 0, floats), settings.warmup(), settings.runs());
            return new Copy(floats * Float.BYTES, t);
        }
    }

    void matmuls(WeightFormat format, List<Matmul> matvecs, List<Matmul> batched) {
        int cols = settings.matvecCols();
        int rows = SyntheticWeights.rowsFor(format, cols, settings.matvecBytes());
        progress.accept("matmul " + format + " " + rows + "x" + cols);
        try (Arena arena = Arena.ofShared()) {
            WeightMatrix w = SyntheticWeights.matrix(arena, format, rows, cols, 11);
            int batch = settings.batchTokens();
            try (DeviceWeights dw = device.upload(w);
                 DeviceBuffer x = device.allocate((long) cols * batch);
                 DeviceBuffer out = device.allocate((long) rows * batch)) {
                fill(x, (long) cols * batch);
                Timing one = time(() -> device.matmul(dw, x, out, 1), settings.warmup(), settings.runs());
                matvecs.add(new Matmul(format, rows, cols, 1, w.byteSize(), one));
                Timing many = time(() -> device.matmul(dw, x, out, batch), Math.min(settings.warmup(), 2), settings.runs());
                batched.add(new Matmul(format, rows, cols, batch, w.byteSize(), many));
            }
        }
    }

    ModelRun model(ModelCase m) {
        LlamaConfig c;
        boolean tied;
        if (m.shape().equals("synthetic")) {
            c = SyntheticModel.CONFIG;
            tied = false;
        } else {
            ModelGraph g = ModelShapes.shape(m.shape());
            c = g.config();
            tied = g.tiedOutput();
        }
        int prefill = settings.batchTokens();
        int positions = prefill + settings.warmup() + settings.decodeTokens();
        if (positions > c.contextLength()) {
            throw new IllegalArgumentException(m + ": " + positions + " positions exceed the shape's context " + c.contextLength());
        }
        progress.accept("model " + m + ": building weights");
        try (Arena arena = Arena.ofShared()) {
            LlamaWeights w = SyntheticWeights.llama(arena, c, m.format(), tied, 29);
            progress.accept("model " + m + ": uploading " + w.decodeWeightBytes() + " bytes");
            SplittableRandom random = new SplittableRandom(5);
            int[] prompt = random.ints(prefill, 0, c.vocabSize()).toArray();
            try (PlanForward f = PlanForward.onDevice(device, c, w, c.ropeInvFreq(), positions, prefill)) {
                progress.accept("model " + m + ": prefill " + prefill);
                Timing pre = time(() -> f.prefill(prompt, 0), 1, Math.min(settings.runs(), 5));
                progress.accept("model " + m + ": decode " + settings.decodeTokens());
                int pos = prefill;
                for (int i = 0; i < settings.warmup(); i++, pos++) {
                    f.forward(random.nextInt(c.vocabSize()), pos);
                }
                double[] wall = new double[settings.decodeTokens()];
                int first = pos;
                for (int i = 0; i < wall.length; i++, pos++) {
                    long t0 = System.nanoTime();
                    f.forward(random.nextInt(c.vocabSize()), pos);
                    wall[i] = (System.nanoTime() - t0) / 1e9;
                }
                int medianPos = first + wall.length / 2;
                double step = median(wall);
                return new ModelRun(m, w.decodeWeightBytes(), decodeBytes(c, w, medianPos), prefillFlops(c, prefill),
                        prefill, pre, medianPos, new Timing(step, step, wall.length));
            }
        }
    }

    /**
     * Bytes one decode step reads at pos: every matrix (the head included) and the KV cache's keys and
     * values of positions 0..pos, which the SPI keeps in F32 buffers.
     */
    static long decodeBytes(LlamaConfig c, LlamaWeights w, int pos) {
        return w.decodeWeightBytes() + 2L * c.nLayers() * c.kvDim() * Float.BYTES * (pos + 1);
    }

    /** Matrix FLOPs of a prefill of tokens: every layer's matrices for each token, the head for the last (attention left out). */
    static long prefillFlops(LlamaConfig c, int tokens) {
        long perToken = (long) c.dim() * (c.qDim() + 2L * c.kvDim()) + (long) c.qDim() * c.dim() + 3L * c.dim() * c.hiddenDim();
        return 2L * tokens * perToken * c.nLayers() + 2L * c.vocabSize() * c.dim();
    }

    /** Median over runs after warm-up, timed by device events and by the host clock around synchronize. */
    Timing time(Runnable op, int warmup, int runs) {
        for (int i = 0; i < warmup; i++) {
            op.run();
        }
        device.synchronize();
        double[] event = new double[runs];
        double[] wall = new double[runs];
        for (int i = 0; i < runs; i++) {
            device.synchronize();
            long t0 = System.nanoTime();
            DeviceEvent e0 = device.record();
            op.run();
            DeviceEvent e1 = device.record();
            device.synchronize();
            wall[i] = (System.nanoTime() - t0) / 1e9;
            event[i] = e1.nanosSince(e0) / 1e9;
        }
        return new Timing(median(event), median(wall), runs);
    }

    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    /** Writes small finite values so nothing computes on garbage (NaN or denormal inputs can slow a path). */
    private void fill(DeviceBuffer buffer, long floats) {
        int chunk = (int) Math.min(floats, 1 << 20);
        float[] values = new float[chunk];
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < chunk; i++) {
            values[i] = (float) (random.nextDouble() - 0.5);
        }
        for (long at = 0; at < floats; at += chunk) {
            device.write(buffer, at, values, 0, (int) Math.min(chunk, floats - at));
        }
    }
}
