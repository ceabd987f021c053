package dev.tandem.server;

import dev.tandem.runtime.engine.Engine;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.IOException;
import java.io.OutputStream;

/**
 * The server's Prometheus metrics, in a registry of its own (not the JVM-wide default, so two
 * servers in one JVM, as in the tests, do not share counts).
 *
 * <p>The engine's public API tells free KV blocks and steps, not its queue: "queued" here are
 * requests the server submitted that have no token yet (waiting or in prefill), "running" those
 * generating; the batch size is the running count sampled at each token.
 */
final class ServerMetrics {
    private static final double[] LATENCY_BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

    final PrometheusRegistry registry = new PrometheusRegistry();
    final Counter requests = Counter.builder().name("tandem_requests").help("HTTP requests by endpoint and status code")
            .labelNames("endpoint", "status").register(registry);
    final Counter cancelled = Counter.builder().name("tandem_requests_cancelled")
            .help("Generations cancelled because their client went away").register(registry);
    final Gauge running = Gauge.builder().name("tandem_sequences_running")
            .help("Sequences generating tokens").register(registry);
    final Gauge queued = Gauge.builder().name("tandem_sequences_queued")
            .help("Sequences submitted that have no token yet (queued or in prefill)").register(registry);
    final Counter promptTokens = Counter.builder().name("tandem_prompt_tokens")
            .help("Prompt tokens submitted").register(registry);
    final Counter generatedTokens = Counter.builder().name("tandem_generated_tokens")
            .help("Tokens generated").register(registry);
    final Histogram ttft = Histogram.builder().name("tandem_time_to_first_token_seconds")
            .help("Time from submission to the first generated token").classicUpperBounds(LATENCY_BUCKETS)
            .register(registry);
    final Histogram interToken = Histogram.builder().name("tandem_inter_token_latency_seconds")
            .help("Time between consecutive tokens of one sequence").classicUpperBounds(LATENCY_BUCKETS)
            .register(registry);
    final Histogram batchSize = Histogram.builder().name("tandem_batch_size")
            .help("Sequences generating when a token is produced").classicUpperBounds(1, 2, 4, 8, 16, 32, 64, 128, 256)
            .register(registry);

    ServerMetrics(Engine engine) {
        int blocks = engine.pool().blocks();
        GaugeWithCallback.builder().name("tandem_kv_blocks_free").help("KV blocks free in the engine's pool")
                .callback(cb -> cb.call(engine.freeKvBlocks())).register(registry);
        GaugeWithCallback.builder().name("tandem_kv_blocks_used").help("KV blocks held by sequences")
                .callback(cb -> cb.call(blocks - engine.freeKvBlocks())).register(registry);
        GaugeWithCallback.builder().name("tandem_engine_steps").help("Engine steps run so far")
                .callback(cb -> cb.call(engine.steps())).register(registry);
        CounterWithCallback.builder().name("tandem_device_busy_seconds")
                .help("Time each device spent in engine steps: wall clock on one device; on a plan, each stage's ops"
                        + " (emulated time on an emulated LPU), labelled by stage").labelNames("device")
                .callback(cb -> engine.deviceBusySeconds().forEach((device, seconds) -> cb.call(seconds, device))).register(registry);
        if (engine.planStats().isPresent()) {
            registerPlan(engine);
        }
    }

    /** A plan's predicted against measured decode steps, and its emulated blocks against their predicted cycles. */
    private void registerPlan(Engine engine) {
        GaugeWithCallback.builder().name("tandem_plan_placement").help("The plan the engine steps (always 1): policy, pool and placement in the label")
                .labelNames("plan").callback(cb -> cb.call(1, engine.planStats().orElseThrow().plan())).register(registry);
        CounterWithCallback.builder().name("tandem_plan_decode_steps")
                .help("Engine steps of decode rows only, the steps the plan predicts")
                .callback(cb -> cb.call(engine.planStats().orElseThrow().decodeSteps())).register(registry);
        CounterWithCallback.builder().name("tandem_plan_decode_step_seconds")
                .help("Time of those steps: as the plan predicts each (at its rows and furthest position) and as measured")
                .labelNames("source").callback(cb -> {
                    var s = engine.planStats().orElseThrow();
                    cb.call(s.predictedSeconds(), "predicted");
                    cb.call(s.measuredSeconds(), "measured");
                }).register(registry);
        GaugeWithCallback.builder().name("tandem_plan_decode_step_mean_seconds")
                .help("Mean time of a decode step so far, predicted and measured (0 before the first)").labelNames("source")
                .callback(cb -> {
                    var s = engine.planStats().orElseThrow();
                    long n = Math.max(1, s.decodeSteps());
                    cb.call(s.predictedSeconds() / n, "predicted");
                    cb.call(s.measuredSeconds() / n, "measured");
                }).register(registry);
        CounterWithCallback.builder().name("tandem_plan_micro_batched_steps")
                .help("Steps whose decode rows ran as two ping-ponging micro-batches")
                .callback(cb -> cb.call(engine.planStats().orElseThrow().microBatchedSteps())).register(registry);
        CounterWithCallback.builder().name("tandem_plan_emulated_blocks")
                .help("Attention and FFN blocks on emulated devices, by whether they took exactly their predicted cycles")
                .labelNames("cycles").callback(cb -> {
                    var s = engine.planStats().orElseThrow();
                    cb.call(s.exactBlocks(), "exact");
                    cb.call(s.inexactBlocks(), "inexact");
                }).register(registry);
    }

    void write(OutputStream out) throws IOException {
        PrometheusTextFormatWriter.create().write(out, registry.scrape());
    }

    static String contentType() {
        return PrometheusTextFormatWriter.CONTENT_TYPE;
    }
}
