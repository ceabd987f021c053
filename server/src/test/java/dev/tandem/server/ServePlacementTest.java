package dev.tandem.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.Session;
import dev.tandem.runtime.Tandem;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.device.DeviceUnavailableException;
import dev.tandem.runtime.engine.Engine;
import dev.tandem.runtime.engine.EngineConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * serve --pool/--policy: the engine steps the compiled plan's placement, one device or split (afd's
 * LPU FFNs, lpu-only); /metrics reports each device's busy time and the plan's predicted against
 * measured decode steps; a plan on a catalog device is refused.
 */
class ServePlacementTest {
    @Test
    void aSingleDevicePlanIsServedOnItsDevice() {
        try (Model m = Model.embedded()) {
            for (String policy : List.of("single", "auto")) {
                Plan plan = ServePlacement.compile(m, "cpu", policy, 8, m.config().contextLength());
                assertEquals("cpu", plan.roles().prefill().name());
                try (Engine engine = Engine.open(m, plan, EngineConfig.defaults(64).maxSequences(8))) {
                    assertEquals(List.of("cpu[0]"), List.copyOf(engine.deviceBusySeconds().keySet()), "one device: " + policy);
                }
            }
        }
    }

    @Test
    void aPlanOnACatalogDeviceIsRefused() {
        try (Model m = Model.embedded()) {
            Plan plan = ServePlacement.compile(m, "h100", "single", 8, m.config().contextLength());
            DeviceUnavailableException e = assertThrows(DeviceUnavailableException.class,
                    () -> Engine.open(m, plan, EngineConfig.defaults(64)).close());
            assertTrue(e.getMessage().contains("catalog"), e.getMessage());
        }
    }

    /**
     * Split plans are served: concurrent greedy completions through the plan's stages equal a
     * session's ids, and /metrics says which devices worked and how the plan's steps compared.
     */
    @ParameterizedTest(name = "{1} on {0}")
    @CsvSource({"'cpu,lp30*2', afd, decode ffn lp30", "lp30*2, lpu-only, prefill lp30"})
    void splitPlansAreServedWithPlanMetrics(String pool, String policy, String placement) throws Exception {
        Model model = Model.synthetic();
        Plan plan = ServePlacement.compile(model, pool, policy, 8, 64);
        assertTrue(plan.roles().toString().contains(placement), plan.roles().toString());
        Engine engine = Engine.open(model, plan, EngineConfig.defaults(64).maxSequences(8).maxBatchTokens(32));
        int[][] prompts = {{1, 5, 9}, {1, 77}, {1, 20, 30, 40, 50, 60, 70, 80, 90}, {1}};
        try (ServerFixture f = new ServerFixture(model, engine, ServerOptions.loopback())) {
            List<Thread> clients = new ArrayList<>();
            List<HttpResponse<String>> answers = new ArrayList<>(java.util.Collections.nCopies(prompts.length, null));
            for (int i = 0; i < prompts.length; i++) {
                int k = i;
                clients.add(Thread.startVirtualThread(() -> {
                    try {
                        answers.set(k, f.post("/v1/completions", "{\"prompt\": " + java.util.Arrays.toString(prompts[k])
                                + ", \"max_tokens\": 6, \"temperature\": 0, \"ignore_eos\": true, \"return_token_ids\": true}"));
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }));
            }
            for (Thread t : clients) {
                t.join();
            }
            try (Session session = Tandem.open(model, 64)) {
                for (int i = 0; i < prompts.length; i++) {
                    assertEquals(200, answers.get(i).statusCode(), answers.get(i).body());
                    JsonNode ids = ServerFixture.json(answers.get(i).body()).get("choices").get(0).get("token_ids");
                    int[] got = new int[ids.size()];
                    for (int k = 0; k < got.length; k++) {
                        got[k] = ids.get(k).asInt();
                    }
                    assertArrayEquals(session.generate(prompts[i], Sampling.greedy().maxTokens(6).stopAtEos(false), null).generatedIds(),
                            got, "prompt " + i);
                }
            }
            String metrics = f.get("/metrics").body();
            assertTrue(metrics.contains("tandem_device_busy_seconds_total{device=\"lp30[0"), metrics);
            assertTrue(metrics.contains("tandem_plan_placement{plan=\""), metrics);
            assertTrue(f.metric("tandem_plan_decode_steps_total") > 0, metrics);
            assertTrue(metrics.contains("tandem_plan_decode_step_seconds_total{source=\"predicted\"}"), metrics);
            assertTrue(metrics.contains("tandem_plan_decode_step_seconds_total{source=\"measured\"}"), metrics);
            assertEquals(0.0, sample(metrics, "tandem_plan_emulated_blocks_total{cycles=\"inexact\"}"), metrics);
            assertTrue(sample(metrics, "tandem_plan_emulated_blocks_total{cycles=\"exact\"}") > 0, metrics);
            assertTrue(sample(metrics, "tandem_plan_decode_step_seconds_total{source=\"predicted\"}") > 0, metrics);
        }
    }

    private static double sample(String metrics, String series) {
        return metrics.lines().filter(l -> l.startsWith(series + " ")).mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .findFirst().orElseThrow(() -> new AssertionError("no " + series + " in " + metrics));
    }

    @Test
    void deviceBusyTimeIsAMetric() throws Exception {
        try (ServerFixture f = new ServerFixture()) {
            assertEquals(0.0, f.metric("tandem_device_busy_seconds_total"));
            assertEquals(200, f.post("/v1/completions", "{\"prompt\": [1, 5, 9], \"max_tokens\": 4}").statusCode());
            assertTrue(f.metric("tandem_device_busy_seconds_total") > 0);
            assertTrue(f.get("/metrics").body().contains("tandem_device_busy_seconds_total{device=\""), "labelled by device");
        }
    }
}
