package dev.tandem.runtime.compiler;

import java.util.List;
import java.util.Optional;

/**
 * MLPerf Inference datacenter results (closed division, NVIDIA's TensorRT-LLM submissions) the batched
 * GPU model is judged against (docs/planning.md, "MLPerf Inference"). Every result is output tokens/s
 * of a whole system over the benchmark's data set; none of them is fitted.
 *
 * <p>Sources: v4.0 and v4.1 from the submitters' {@code mlperf_log_summary.txt} in
 * github.com/mlcommons/inference_results_v4.0 and _v4.1 ({@code closed/NVIDIA/results/<system>/
 * llama2-70b-99[.9]/<scenario>/performance/run_1/}); v5.0 and v5.1 from the MLCommons results tables
 * (mlcommons.org/benchmarks/inference-datacenter, by result ID) as exported in
 * github.com/openshift-psap/performance-dashboard {@code mlperf-data/mlperf-5.0.csv} and
 * {@code mlperf-5.1.csv} (5.0-0057 also matches that submission's own summary log). Layouts and
 * precisions from NVIDIA's configs in the same results repositories
 * ({@code closed/NVIDIA/configs/llama2-70b/Offline/__init__.py}).
 */
final class PublishedMlperfResults {
    private PublishedMlperfResults() {}

    /** The benchmark's request mix, reduced to the means a fixed-length workload can carry. */
    enum Benchmark {
        /**
         * OpenOrca, 24,576 samples: mean input 222.33 tokens (median 152, max 1,021) from the per-sample
         * {@code tok_input_length} of the official pickle (performance-dashboard
         * {@code mlperf-data/summaries/llama2-70b-99.csv}); mean output 294.45 tokens, the reference's
         * "tokens per sample" (mlcommons/inference {@code language/llama2-70b/README.md}).
         */
        LLAMA2_70B("llama-2-70b", 222, 294),
        /**
         * 8,313 samples: mean input 9,428.6 tokens (median 10,112; llama3-1-405b.csv in the same
         * dashboard), mean output 684.68 tokens (mlcommons/inference
         * {@code language/llama3.1-405b/README.md}, "tokens_per_sample").
         */
        LLAMA31_405B("llama-3.1-405b", 9429, 685);

        final String shape;
        final int isl;
        final int osl;

        Benchmark(String shape, int isl, int osl) {
            this.shape = shape;
            this.isl = isl;
            this.osl = osl;
        }

        ServingWorkload workload() { return new ServingWorkload(isl, osl); }
    }

    /**
     * A scenario and the latency limits it puts on the 99th percentiles (mlcommons/inference
     * {@code language/llama2-70b/README.md}; loadgen's {@code mlperf.conf}). Offline has none.
     */
    enum Scenario {
        OFFLINE(Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY),
        SERVER(2000, 200),
        INTERACTIVE(450, 40);

        final double ttftLimitMs;
        final double tpotLimitMs;

        Scenario(double ttftLimitMs, double tpotLimitMs) {
            this.ttftLimitMs = ttftLimitMs;
            this.tpotLimitMs = tpotLimitMs;
        }
    }

    /**
     * @param round     MLPerf Inference round
     * @param id        MLCommons result ID, or the results repository's system directory where the
     *                  source read was the summary log
     * @param system    the submitted system
     * @param gpu       catalog name of its GPUs
     * @param gpus      how many the system has
     * @param layout    tensor parallel × pipeline stages × replicas from NVIDIA's config for that round;
     *                  empty where the sources read do not give it
     */
    record Point(String round, String id, String system, Benchmark benchmark, Scenario scenario, String gpu, int gpus,
                 Optional<GpuServingModel.Layout> layout, ServingFormat weights, double tokensPerSecond) {}

    private static Optional<GpuServingModel.Layout> layout(int tp, int pp, int replicas) {
        return Optional.of(new GpuServingModel.Layout(tp, pp, replicas));
    }

    private static final String V40_H100X2 = "inference_results_v4.0 DGX-H100_H100-SXM-80GBx2_TRT";
    private static final String V41_H100X8 = "inference_results_v4.1 DGX-H100_H100-SXM-80GBx8_TRT";
    private static final String V41_H200X8 = "inference_results_v4.1 H200-SXM-141GBx8_TRT";
    private static final String V41_B200X1 = "inference_results_v4.1 B200-SXM-180GBx1_TRT";

    static List<Point> all() {
        var l2 = Benchmark.LLAMA2_70B;
        var off = Scenario.OFFLINE;
        var srv = Scenario.SERVER;
        var inter = Scenario.INTERACTIVE;
        var fp8 = ServingFormat.FP8;
        var fp4 = ServingFormat.NVFP4;
        // v4.0/v4.1 configs: Hopper FP8 weights, H100 TP2 x replicas, H200 TP1 x 8. The v4.x
        // llama2-70b-99.9 logs are used where the 99 ones were not among the files read; NVIDIA ran
        // the same FP8 engines for both accuracy targets.
        // v5.0 configs: H100 TP1 PP2 x 4, H200 TP1 x 8 (FP8), B200 TP1 x 8 in FP4; KV cache FP8 throughout.
        return List.of(
                new Point("v4.0", V40_H100X2, "DGX H100, 2 GPUs", l2, off, "h100", 2, layout(2, 1, 1), fp8, 5539.47),
                new Point("v4.0", V40_H100X2, "DGX H100, 2 GPUs", l2, srv, "h100", 2, layout(2, 1, 1), fp8, 5271.98),
                new Point("v4.1", V41_H100X8, "DGX H100", l2, off, "h100", 8, layout(2, 1, 4), fp8, 24524.9),
                new Point("v4.1", V41_H100X8, "DGX H100", l2, srv, "h100", 8, layout(2, 1, 4), fp8, 21605.79),
                new Point("v4.1", V41_H200X8, "H200 x8", l2, off, "h200", 8, layout(1, 1, 8), fp8, 31302.7),
                new Point("v4.1", V41_H200X8, "H200 x8", l2, srv, "h200", 8, layout(1, 1, 8), fp8, 29228.22),
                new Point("v4.1", V41_B200X1, "B200, 1 GPU (preview)", l2, off, "b200", 1, layout(1, 1, 1), fp4, 11264.4),
                new Point("v4.1", V41_B200X1, "B200, 1 GPU (preview)", l2, srv, "b200", 1, layout(1, 1, 1), fp4, 10755.59),
                new Point("v5.0", "5.0-0057", "DGX H100", l2, off, "h100", 8, layout(1, 2, 4), fp8, 31306.8),
                new Point("v5.0", "5.0-0057", "DGX H100", l2, srv, "h100", 8, layout(1, 2, 4), fp8, 31106.28),
                new Point("v5.0", "5.0-0060", "H200 x8", l2, off, "h200", 8, layout(1, 1, 8), fp8, 34988.2),
                new Point("v5.0", "5.0-0060", "H200 x8", l2, srv, "h200", 8, layout(1, 1, 8), fp8, 33071.46),
                new Point("v5.0", "5.0-0060", "H200 x8", l2, inter, "h200", 8, layout(1, 1, 8), fp8, 19424.2),
                new Point("v5.0", "5.0-0055", "DGX B200, 1 GPU", l2, off, "b200", 1, layout(1, 1, 1), fp4, 12269.3),
                new Point("v5.0", "5.0-0055", "DGX B200, 1 GPU", l2, srv, "b200", 1, layout(1, 1, 1), fp4, 12078.4),
                new Point("v5.0", "5.0-0056", "DGX B200", l2, off, "b200", 8, layout(1, 1, 8), fp4, 98858.0),
                new Point("v5.0", "5.0-0056", "DGX B200", l2, srv, "b200", 8, layout(1, 1, 8), fp4, 98443.3),
                new Point("v5.0", "5.0-0056", "DGX B200", l2, inter, "b200", 8, layout(1, 1, 8), fp4, 59409.3),
                new Point("v5.1", "5.1-0069", "DGX B200", l2, off, "b200", 8, layout(1, 1, 8), fp4, 101527.0),
                new Point("v5.1", "5.1-0069", "DGX B200", l2, srv, "b200", 8, layout(1, 1, 8), fp4, 99123.04),
                new Point("v5.1", "5.1-0069", "DGX B200", l2, inter, "b200", 8, layout(1, 1, 8), fp4, 59545.4),
                // Llama 3.1 405B Offline: the layout of these submissions was not among the sources
                // read; the prediction takes the compiler's best layout on the 8 GPUs (see the test).
                new Point("v5.0", "5.0-0060", "H200 x8", Benchmark.LLAMA31_405B, off, "h200", 8, Optional.empty(), fp8, 560.65),
                new Point("v5.0", "5.0-0056", "DGX B200", Benchmark.LLAMA31_405B, off, "b200", 8, Optional.empty(), fp4, 1526.29),
                new Point("v5.1", "5.1-0069", "DGX B200", Benchmark.LLAMA31_405B, off, "b200", 8, Optional.empty(), fp4, 1624.11));
    }
}
