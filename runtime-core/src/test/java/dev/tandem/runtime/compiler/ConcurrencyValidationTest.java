package dev.tandem.runtime.compiler;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The batched GPU model at a fixed number of requests in flight, against the published tables that
 * give one (docs/planning.md, "Fixed concurrency"): NVIDIA NIM's benchmarking page and vLLM's
 * nightly latency tests. Unlike the maximum-throughput tables these check the few-user end of the
 * frontier. Nothing is fitted here.
 */
class ConcurrencyValidationTest {
    /**
     * A closed-loop row: {@code concurrency} requests of ISL:OSL always in flight on one replica.
     *
     * @param published output tokens/s of the deployment (NIM), or the end-to-end milliseconds of
     *                  one batch of requests (vLLM latency test)
     */
    record Row(String source, String shape, String gpu, int tp, ServingFormat weights, ServingFormat kv, int isl, int osl,
               int concurrency, boolean latencyMs, double published) {}

    /**
     * NVIDIA NIM for LLMs benchmarking guide 1.0.0, "Performance" (docs.nvidia.com/nim/benchmarking/llm/1.0.0/performance):
     * Llama-3.3-70B-Instruct, NIM 1.8.0, 2 × H100 80G, FP8, TP2, 5000 input / 500 output tokens, AIPerf
     * at fixed concurrency. Rows at 100 and more are queueing (TTFT 8-89 s) at the saturated ~920 tokens/s.
     * vLLM performance-benchmark, Buildkite build 9515 (buildkite.com/vllm/performance-benchmark/builds/9515),
     * latency tests: 32 input, 128 output tokens, a fixed batch of 8, H200, the model's BF16 weights.
     */
    static List<Row> rows() {
        String nim = "NIM 1.8.0 benchmarking guide";
        String vllm = "vLLM performance-benchmark build 9515";
        var fp8 = ServingFormat.FP8;
        var bf16 = ServingFormat.BF16;
        return List.of(
                new Row(nim, "llama-3-70b", "h100", 2, fp8, fp8, 5000, 500, 1, false, 51.67),
                new Row(nim, "llama-3-70b", "h100", 2, fp8, fp8, 5000, 500, 5, false, 218.48),
                new Row(nim, "llama-3-70b", "h100", 2, fp8, fp8, 5000, 500, 25, false, 623.4),
                new Row(nim, "llama-3-70b", "h100", 2, fp8, fp8, 5000, 500, 50, false, 814.37),
                new Row(nim, "llama-3-70b", "h100", 2, fp8, fp8, 5000, 500, 250, false, 920.12),
                new Row(vllm, "llama-3-70b", "h200", 4, bf16, bf16, 32, 128, 8, true, 2077.53),
                new Row(vllm, "llama-3-8b", "h200", 1, bf16, bf16, 32, 128, 8, true, 833.421),
                new Row(vllm, "mixtral-8x7b", "h200", 2, bf16, bf16, 32, 128, 8, true, 1917.44));
    }

    /**
     * The steady state at the row's concurrency, or at the largest batch the KV cache holds when the
     * row asks for more (the rest queue). A latency row is OSL iterations of a batch of that size:
     * the model's iteration carries the batch's prompts amortised over its output, as vLLM's single
     * batch carries them in its first step.
     */
    static double predict(Row r) {
        DeviceGroup g = new Catalog().resolve(r.gpu(), r.tp());
        var model = new GpuServingModel(ModelShapes.shape(r.shape()), r.weights(), r.kv(), new ServingWorkload(r.isl(), r.osl()), g,
                GpuFigures.of(r.gpu()).orElseThrow());
        var l = new GpuServingModel.Layout(r.tp(), 1, 1);
        FrontierPoint p = model.point(l, Math.min(r.concurrency(), model.maxBatch(l)));
        return r.latencyMs() ? r.osl() * p.tpotMs() : p.tokensPerSecondPerSystem();
    }

    private static double error(Row r) { return predict(r) / r.published() - 1; }

    @Test
    void printsTheTable() {
        StringBuilder out = new StringBuilder();
        for (Row r : rows()) {
            out.append(String.format(Locale.ROOT, "| %s | %s | %s TP%d | %s | %d:%d | %d | %s | %,.1f | %,.1f | %+.0f%% |%n",
                    r.source(), r.shape(), r.gpu(), r.tp(), r.weights(), r.isl(), r.osl(), r.concurrency(),
                    r.latencyMs() ? "ms per batch" : "tokens/s", r.published(), predict(r), error(r) * 100));
        }
        System.out.print(out);
        System.out.printf(Locale.ROOT, "%d rows, mean |error| %.1f%%, within 30%%: %d%n", rows().size(),
                rows().stream().mapToDouble(r -> Math.abs(error(r))).average().orElseThrow() * 100,
                rows().stream().filter(r -> Math.abs(error(r)) <= 0.30).count());
        for (Row r : rows()) {
            assertTrue(predict(r) > 0, "no steady state for " + r);
        }
    }

    @Test
    void theRowsAreWithinThirtyPercentOnAverage() {
        // 16.5 % today; the signs (too fast at one to eight users) are docs/planning.md's to explain.
        double mean = rows().stream().mapToDouble(r -> Math.abs(error(r))).average().orElseThrow();
        assertTrue(mean <= 0.30, "mean |error| " + mean);
    }

    @Test
    void moreUsersNeverLowerThePredictedSystemThroughputNorRaiseTheirOwnSpeed() {
        // The model's frontier is monotone in concurrency, as the published NIM rows are.
        var nim = rows().stream().filter(r -> !r.latencyMs()).toList();
        for (int i = 1; i < nim.size(); i++) {
            assertTrue(predict(nim.get(i)) >= predict(nim.get(i - 1)), "system tokens/s fell at " + nim.get(i));
            assertTrue(predict(nim.get(i)) / nim.get(i).concurrency() <= predict(nim.get(i - 1)) / nim.get(i - 1).concurrency(),
                    "per-user tokens/s rose at " + nim.get(i));
        }
    }
}
