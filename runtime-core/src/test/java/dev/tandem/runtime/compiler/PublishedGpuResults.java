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

    record Point(String source, String shape, String gpu, int tp, ServingFormat weights, ServingFormat kv, int isl, int osl,
                 double tokensPerSecond) {}

    private static final int[][] SEQ = {{128, 128}, {128, 2048}, {128, 4096}, {500, 2000}, {1000, 1000}, {1000, 2000},
            {2048, 128}, {2048, 2048}, {5000, 500}, {20000, 2000}};

    private static void table(List<Point> out, String shape, String gpu, int tp, ServingFormat w, double... tps) {
        for (int i = 0; i < tps.length; i++) {
            if (tps[i] > 0) {
                out.add(new Point(TRTLLM, shape, gpu, tp, w, ServingFormat.FP8, SEQ[i][0], SEQ[i][1], tps[i]));
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
        return p;
    }
}
