package dev.tandem.runtime.compiler;

import java.util.ArrayList;
import java.util.List;

/**
 * Published end-to-end GPU serving throughputs the batched model is judged against
 * (docs/planning.md#validation-published-gpu-serving-results). Each is the maximum-load output
 * tokens/s of a whole deployment for fixed ISL:OSL.
 */
final class PublishedGpuResults {
    private PublishedGpuResults() {}

    /** TensorRT-LLM docs/source/performance/perf-overview.md (v1.0, trtllm-bench throughput, PyTorch backend). */
    static final String TRTLLM = "TensorRT-LLM perf-overview (v1.0)";

    /** The same page at TensorRT-LLM v0.17 (trtllm-bench, TensorRT engines): more TP layouts, Mixtral. */
    static final String TRTLLM_017 = "TensorRT-LLM perf-overview (v0.17)";

    record Point(String source, String shape, String gpu, int tp, ServingFormat weights, ServingFormat kv, int isl, int osl,
                 double tokensPerSecond) {}

    private static final int[][] SEQ = {{128, 128}, {128, 2048}, {128, 4096}, {500, 2000}, {1000, 1000}, {1000, 2000},
            {2048, 128}, {2048, 2048}, {5000, 500}, {20000, 2000}};

    /** v0.17's rows have no 1000/2000. */
    private static final int[][] SEQ_017 = {{128, 128}, {128, 2048}, {128, 4096}, {500, 2000}, {1000, 1000},
            {2048, 128}, {2048, 2048}, {5000, 500}, {20000, 2000}};

    private static void table(List<Point> out, String shape, String gpu, int tp, ServingFormat w, double... tps) {
        rows(out, TRTLLM, SEQ, shape, gpu, tp, w, tps);
    }

    private static void table017(List<Point> out, String shape, String gpu, int tp, double... tps) {
        rows(out, TRTLLM_017, SEQ_017, shape, gpu, tp, ServingFormat.FP8, tps);
    }

    /** A 0 is a cell the page leaves empty. */
    private static void rows(List<Point> out, String source, int[][] seq, String shape, String gpu, int tp, ServingFormat w,
                             double... tps) {
        for (int i = 0; i < tps.length; i++) {
            if (tps[i] > 0) {
                out.add(new Point(source, shape, gpu, tp, w, ServingFormat.FP8, seq[i][0], seq[i][1], tps[i]));
            }
        }
    }

    static List<Point> all() {
        List<Point> p = new ArrayList<>();
        // Llama 3.3 70B has Llama 3 70B's shape; Llama 3.1 8B and 405B likewise.
        table(p, "llama-3-70b", "h200", 1, ServingFormat.FP8, 3803, 4336, 2872, 3666, 2909, 2994, 442, 2003, 566, 283);
        table(p, "llama-3-70b", "h100", 2, ServingFormat.FP8, 6378, 6651, 4199, 5222, 4205, 4146, 762, 3082, 898, 437);
        table(p, "llama-3-70b", "b200", 1, ServingFormat.NVFP4, 11147, 9922, 6831, 7762, 7007, 6271, 1339, 4783, 1459, 665);
        table(p, "llama-3-8b", "h200", 1, ServingFormat.FP8, 27911, 26221, 18027, 20770, 17744, 16828, 3538, 12194, 3902, 1804);
        table(p, "llama-3-8b", "h100", 1, ServingFormat.FP8, 28312, 22714, 14325, 17660, 15220, 13899, 3450, 9305, 3459, 1351);
        table(p, "llama-3.1-405b", "h200", 8, ServingFormat.FP8, 3814, 5348, 4741, 4724, 3330, 3722, 456, 2948, 650, 505);
        table(p, "llama-3.1-405b", "h100", 8, ServingFormat.FP8, 3627, 4340, 3116, 3994, 2919, 2895, 453, 2296, 610, 345);
        table(p, "llama-3.1-405b", "b200", 4, ServingFormat.NVFP4, 6281, 8020, 6345, 6244, 5209, 4933, 749, 4212, 1048, 672);
        table017(p, "llama-3-8b", "h200", 1, 29526.04, 25398.86, 17370.8, 21020.81, 17537.96, 3794.14, 11968.5, 3987.79, 1804.1);
        table017(p, "llama-3-8b", "h100", 1, 28836.77, 21109.38, 13593.65, 16500.69, 15244.78, 3556.73, 9488.42, 3559.36, 1401.31);
        table017(p, "llama-3-70b", "h200", 1, 4020.75, 4165.68, 2651.75, 3018.39, 2823.45, 465.99, 1913.8, 560.16, 279.52);
        table017(p, "llama-3-70b", "h100", 1, 3378.03, 911.62, 426.32, 775.57, 839.97, 343.29, 0, 245.34, 0);
        table017(p, "llama-3-70b", "h200", 2, 6823.01, 8290.35, 6526.67, 6848.02, 5164.76, 809, 4183.88, 1025.38, 640.62);
        table017(p, "llama-3-70b", "h100", 2, 6645.12, 6169.58, 3897.06, 4972.57, 4390.53, 772.66, 2898.16, 919.73, 443.01);
        table017(p, "llama-3-70b", "h200", 4, 11098.63, 14156, 10574.06, 12452.79, 8911.29, 1358.06, 7130.44, 1811.55, 1199.68);
        table017(p, "llama-3-70b", "h100", 4, 11127.53, 11511.93, 7439.41, 9836.7, 7430.99, 1302.6, 5480.03, 1602.78, 920.19);
        table017(p, "llama-3-70b", "h200", 8, 15355.84, 21195.88, 16941.52, 17278.4, 13181.24, 1983.03, 11142.47, 2717.83, 1920.45);
        table017(p, "llama-3-70b", "h100", 8, 14730.69, 17061.82, 14171.43, 14679.33, 11451.16, 1923.41, 8801.95, 2457.42, 1512.6);
        table017(p, "llama-3.1-405b", "h200", 8, 3874.19, 5938.09, 5168.37, 5084.29, 3399.69, 463.42, 2940.62, 669.13, 535.31);
        table017(p, "mixtral-8x7b", "h200", 1, 17157.72, 15095.21, 9534.62, 12105.27, 10371.36, 2009.67, 6940.32, 2309.1, 1151.78);
        table017(p, "mixtral-8x7b", "h100", 1, 15962.49, 8290.13, 4784.86, 6800.6, 6868.52, 1892.81, 3983.1, 1764.7, 673.7);
        return p;
    }
}
