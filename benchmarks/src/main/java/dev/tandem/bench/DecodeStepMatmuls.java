package dev.tandem.bench;

import dev.tandem.kernels.Parallel;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.model.LlamaWeights;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;

/**
 * Where a batched decode step's matmul time goes, per matrix kind, on a real model file: for each
 * batch size, the wall time of one step's Q/K/V (one matmulEach per layer, as the engine calls it),
 * output projection, W1/W3 (matmulEach), W2 (all layers) and the classifier, best of 5 rounds of 3
 * steps after 3 warm-ups (every batch size is warmed first, so ColdStart's twins are spent). Best of
 * several rounds because the shared VM's load moved single timings by 20 % and more.
 * {@code java --add-modules jdk.incubator.vector -XX:CompileCommandFile=scripts/kernels.compile-commands
 * -cp benchmarks/target/benchmarks.jar dev.tandem.bench.DecodeStepMatmuls MODEL.gguf THREADS 1,2,4,8,16}
 * (a fourth argument, any, times W2 alone).
 */
public final class DecodeStepMatmuls {
    private DecodeStepMatmuls() {}

    public static void main(String[] args) {
        Parallel.setThreads(Integer.parseInt(args[1]));
        int[] batches = Arrays.stream(args[2].split(",")).mapToInt(Integer::parseInt).toArray();
        boolean w2Only = args.length > 3;
        try (Model m = Model.load(Path.of(args[0]))) {
            LlamaWeights w = m.weights();
            int layers = w.wq().length;
            for (int pass = 0; pass < 2; pass++) {
                for (int b : batches) {
                    float[] x = gaussian(b * Math.max(w.w2()[0].cols(), w.wq()[0].cols()));
                    float[] out = new float[b * Math.max(w.output().rows(), w.wo()[0].rows())];
                    float[] q = new float[b * w.wq()[0].rows()], k = new float[b * w.wk()[0].rows()], v = new float[b * w.wv()[0].rows()];
                    float[] h1 = new float[b * w.w1()[0].rows()], h3 = new float[b * w.w3()[0].rows()];
                    double qkv = w2Only ? 0 : time(() -> {
                        for (int l = 0; l < layers; l++) {
                            WeightMatrix.matmulEach(new WeightMatrix[] {w.wq()[l], w.wk()[l], w.wv()[l]}, x, new float[][] {q, k, v}, b);
                        }
                    });
                    double wo = w2Only ? 0 : time(() -> {
                        for (int l = 0; l < layers; l++) {
                            w.wo()[l].matmul(x, out, b);
                        }
                    });
                    double w13 = w2Only ? 0 : time(() -> {
                        for (int l = 0; l < layers; l++) {
                            WeightMatrix.matmulEach(new WeightMatrix[] {w.w1()[l], w.w3()[l]}, x, new float[][] {h1, h3}, b);
                        }
                    });
                    double w2 = time(() -> {
                        for (int l = 0; l < layers; l++) {
                            w.w2()[l].matmul(x, out, b);
                        }
                    });
                    double cls = w2Only ? 0 : time(() -> w.output().matmul(x, out, b));
                    double total = qkv + wo + w13 + w2 + cls;
                    if (pass == 1) {
                        System.out.printf(Locale.ROOT, "batch %2d: qkv %.2f wo %.2f w13 %.2f w2 %.2f classifier(%s) %.2f = %.2f ms a step, %.0f tok/s on matmuls alone%n",
                                b, qkv, wo, w13, w2, w.output().format(), cls, total, b * 1000 / total);
                    }
                }
            }
        }
    }

    /** Best of 5 rounds of 3 runs after 3 warm-ups, ms per run. */
    private static double time(Runnable r) {
        for (int i = 0; i < 3; i++) {
            r.run();
        }
        long best = Long.MAX_VALUE;
        for (int round = 0; round < 5; round++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < 3; i++) {
                r.run();
            }
            best = Math.min(best, (System.nanoTime() - t0) / 3);
        }
        return best / 1e6;
    }

    private static float[] gaussian(int n) {
        Random r = new Random(1);
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) r.nextGaussian();
        }
        return f;
    }
}
