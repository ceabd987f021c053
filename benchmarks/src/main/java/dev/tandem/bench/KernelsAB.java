package dev.tandem.bench;

import dev.tandem.kernels.WeightFormat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Two builds of the kernels in one JVM, their matmuls called in turn on the same matrix and
 * activations: which is faster, and whether they give the same bits.
 *
 * <p>Why one JVM. On the shared 2-core VM the same build's speed moved up to 1.7x between two JVMs
 * started minutes apart (other tenants' load, where the JIT put things), so runs of two builds in
 * separate JVMs, even alternated, could not resolve 10-20 %. Here each build is loaded by its own class
 * loader from its jar (or classes directory), both are compiled by the same JIT in the same process,
 * and their calls alternate every few milliseconds (the first of each pair rotating), so a slow minute
 * slows both alike. The same jar against itself came out within 1-3 % (docs/benchmarks.md, "Two builds
 * in one JVM").
 *
 * <p>One thread (tandem.threads=1, set by {@code benchmarks/kernels-ab}), thread CPU time per call,
 * best and median GMAC/s of each. With {@code threads=N} both builds run on N pool threads and each call
 * is timed by the wall clock, for what only shows with more than one thread (two cores sharing the memory
 * bus); their idle workers park at once (tandem.spinMicros=0) so that one build's pool does not spin
 * on a core while the other's runs. Only the kernels' public API is used, by reflection, since the two
 * builds' classes are distinct: {@code WeightFormat.valueOf}, {@code WeightMatrix.of} and
 * {@code matmul}, or at batch 1 {@code matvec} (what decode calls).
 */
public final class KernelsAB {
    private KernelsAB() {}

    /**
     * One build's matrices with their matmul(float[], float[], int) and matvec(float[], int, float[], int).
     * Batch 1 calls matvec, as decode does: matmul of one token takes another path in the integer-dot
     * formats (their per-row kernels, not the paired batch-1 kernel decode runs).
     */
    private record Build(Object[] matrices, Method matmul, Method matvec) {
        void run(float[] x, float[] out, int batch) {
            try {
                for (Object matrix : matrices) {
                    if (batch == 1) {
                        matvec.invoke(matrix, x, 0, out, 0);
                    } else {
                        matmul.invoke(matrix, x, out, batch);
                    }
                }
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            } catch (InvocationTargetException e) {
                throw new IllegalStateException("matmul failed: " + e.getCause(), e.getCause());
            }
        }
    }

    /** Per build: the best and median GMAC/s; and whether their outputs were equal bit for bit. */
    public record Result(double bestA, double medianA, double bestB, double medianB, boolean sameBits, int calls) {
        @Override
        public String toString() {
            return String.format("A best %.1f median %.1f GMAC/s, B best %.1f median %.1f GMAC/s (B/A medians %.2f), %s, %d calls each",
                    bestA, medianA, bestB, medianB, medianB / medianA, sameBits ? "same bits" : "DIFFERENT RESULTS", calls);
        }
    }

    /**
     * {@code java ... KernelsAB JAR_A JAR_B FORMAT ROWS COLS BATCH SECONDS}: the kernels jar (or classes
     * directory) of build A and of build B, a weight format (Q8_0, Q4_0, F16, ...), the matrix shape, the
     * batch (1 is the matvec) and how long to alternate.
     */
    public static void main(String[] args) {
        try {
            run(args);
        } catch (IllegalArgumentException e) {
            System.err.println("KernelsAB: " + e.getMessage());
            System.exit(2);
        }
    }

    private static void run(String[] args) {
        if (args.length < 7) {
            System.err.println("usage: KernelsAB JAR_A JAR_B FORMAT ROWS COLS BATCH SECONDS [copies=N] [A:property=value | B:property=value ...]");
            System.exit(2);
        }
        int rows = positive("ROWS", args[3]), cols = positive("COLS", args[4]), batch = positive("BATCH", args[5]);
        double seconds;
        try {
            seconds = Double.parseDouble(args[6]);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("SECONDS must be a number, got '" + args[6] + "'");
        }
        List<Map<String, String>> properties = List.of(new TreeMap<>(), new TreeMap<>());
        int copies = 1, threads = 1;
        for (int i = 7; i < args.length; i++) {
            String arg = args[i];
            if (arg.startsWith("copies=")) {
                copies = positive("copies", arg.substring(7));
                continue;
            }
            if (arg.startsWith("threads=")) {
                threads = positive("threads", arg.substring(8));
                for (Map<String, String> p : properties) {
                    p.put("tandem.threads", String.valueOf(threads));
                    p.put("tandem.spinMicros", "0");
                }
                continue;
            }
            int eq = arg.indexOf('=');
            if (!(arg.startsWith("A:") || arg.startsWith("B:")) || eq < 3) {
                throw new IllegalArgumentException("expected A:property=value or B:property=value, got '" + arg + "'");
            }
            properties.get(arg.charAt(0) - 'A').put(arg.substring(2, eq), arg.substring(eq + 1));
        }
        Result r = compare(Path.of(args[0]), Path.of(args[1]), args[2], rows, cols, batch, seconds, copies, properties, threads > 1);
        if (!properties.get(0).isEmpty() || !properties.get(1).isEmpty()) {
            System.out.println("A: " + properties.get(0) + ", B: " + properties.get(1));
        }
        System.out.printf("%s %d x %d, batch %d: %s%n", args[2], rows, cols, batch, r);
    }

    private static int positive(String name, String value) {
        int v;
        try {
            v = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a positive integer, got '" + value + "'");
        }
        if (v <= 0) {
            throw new IllegalArgumentException(name + " must be a positive integer, got " + v);
        }
        return v;
    }

    /** Alternates the two builds' matmuls for about {@code seconds} (at least 12 calls each) on one random matrix. */
    public static Result compare(Path a, Path b, String format, int rows, int cols, int batch, double seconds) {
        return compare(a, b, format, rows, cols, batch, seconds, 1, List.of(Map.of(), Map.of()), false);
    }

    /**
     * {@link #compare} with system properties set for each build while its kernels' configuration is
     * read (its KernelConfig class initialised), so that one build can run with two settings
     * (e.g. B:tandem.tokenRows=4): the kernels read their tandem.* switches once, into static finals.
     * With {@code copies} matrices of different random weights, each timed call runs all of them in
     * turn, so that together they can exceed the caches and stream from memory as a model's do (one
     * matrix stays in L2 or L3 and can rank two kernels the other way round).
     */
    public static Result compare(Path a, Path b, String format, int rows, int cols, int batch, double seconds, int copies,
                                 List<Map<String, String>> properties, boolean wallClock) {
        try (Arena arena = Arena.ofShared()) { // shared: the kernels' pool threads read the weights too
            SplittableRandom random = new SplittableRandom(42);
            // The file bytes, written with this build's encoder: both builds read the same GGUF layout.
            MemorySegment[] data = new MemorySegment[copies];
            for (int c = 0; c < copies; c++) {
                data[c] = MatvecBenchmark.randomWeights(arena, format(format), rows, cols, random);
            }
            Path[] jars = {a, b};
            URLClassLoader[] loaders = new URLClassLoader[2];
            try {
                return compare(jars, loaders, data, format, rows, cols, batch, seconds, random, properties, wallClock);
            } finally {
                for (URLClassLoader l : loaders) { // only now: the builds load their classes as they first run them
                    if (l != null) {
                        try {
                            l.close();
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    }
                }
            }
        }
    }

    private static Result compare(Path[] jars, URLClassLoader[] loaders, MemorySegment[] data, String format,
                                  int rows, int cols, int batch, double seconds, SplittableRandom random,
                                  List<Map<String, String>> properties, boolean wallClock) {
        Build[] builds = new Build[2];
        for (int v = 0; v < 2; v++) {
            if (!Files.exists(jars[v])) {
                throw new IllegalArgumentException("no kernels jar or classes directory at " + jars[v]);
            }
            URLClassLoader loader = new URLClassLoader(new URL[] {url(jars[v])}, ClassLoader.getPlatformClassLoader());
            loaders[v] = loader;
            Map<String, String> saved = new TreeMap<>();
            properties.get(v).forEach((k, value) -> saved.put(k, System.setProperty(k, value)));
            try {
                Class.forName("dev.tandem.kernels.KernelConfig", true, loader);
                Class<?> formats = loader.loadClass("dev.tandem.kernels.WeightFormat");
                Class<?> matrices = loader.loadClass("dev.tandem.kernels.WeightMatrix");
                Object f = formats.getMethod("valueOf", String.class).invoke(null, format);
                Method of = matrices.getMethod("of", formats, MemorySegment.class, int.class, int.class);
                Object[] ms = new Object[data.length];
                for (int c = 0; c < data.length; c++) {
                    ms[c] = of.invoke(null, f, data[c], rows, cols);
                }
                builds[v] = new Build(ms, matrices.getMethod("matmul", float[].class, float[].class, int.class),
                        matrices.getMethod("matvec", float[].class, int.class, float[].class, int.class));
            } catch (ClassNotFoundException | NoSuchMethodException | IllegalAccessException e) {
                throw new IllegalArgumentException(jars[v] + " does not hold Tandem's kernels: " + e);
            } catch (InvocationTargetException e) {
                throw new IllegalArgumentException(jars[v] + ": " + e.getCause().getMessage(), e.getCause());
            } finally {
                saved.forEach((k, old) -> {
                    if (old == null) {
                        System.clearProperty(k);
                    } else {
                        System.setProperty(k, old);
                    }
                });
            }
        }
        float[] x = new float[batch * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        return alternate(builds, x, rows, cols, batch, seconds, wallClock);
    }

    private static WeightFormat format(String name) {
        try {
            return WeightFormat.valueOf(name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown FORMAT '" + name + "' (one of " + Arrays.toString(WeightFormat.values()) + ")");
        }
    }

    private static URL url(Path p) {
        try {
            return p.toUri().toURL();
        } catch (MalformedURLException e) {
            throw new IllegalArgumentException("not a usable path: " + p, e);
        }
    }

    private static Result alternate(Build[] builds, float[] x, int rows, int cols, int batch, double seconds, boolean wallClock) {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        float[][] out = {new float[batch * rows], new float[batch * rows]};
        List<List<Long>> times = List.of(new ArrayList<>(), new ArrayList<>());
        long end = System.nanoTime() + (long) (seconds * 1e9);
        int warmup = 5;
        for (int n = 0; System.nanoTime() < end || n < warmup + 12; n++) {
            for (int k = 0; k < 2; k++) {
                int v = (n + k) % 2;
                long c0 = wallClock ? System.nanoTime() : threads.getCurrentThreadCpuTime();
                builds[v].run(x, out[v], batch);
                long c = (wallClock ? System.nanoTime() : threads.getCurrentThreadCpuTime()) - c0;
                if (n >= warmup) {
                    times.get(v).add(Math.max(1, c));
                }
            }
        }
        double macs = (double) rows * cols * batch * builds[0].matrices().length;
        double[] best = new double[2], median = new double[2];
        for (int v = 0; v < 2; v++) {
            List<Long> t = times.get(v);
            Collections.sort(t);
            best[v] = macs / t.get(0);
            median[v] = macs / t.get(t.size() / 2);
        }
        boolean same = Arrays.equals(out[0], out[1]);
        return new Result(best[0], median[0], best[1], median[1], same, times.get(0).size());
    }
}
