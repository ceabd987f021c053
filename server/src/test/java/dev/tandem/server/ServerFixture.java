package dev.tandem.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.Devices;
import dev.tandem.runtime.engine.Engine;
import dev.tandem.runtime.engine.EngineConfig;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/** The embedded model served on a loopback port, with helpers to call it. */
final class ServerFixture implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    final Model model;
    final Device cpu;   // null when the engine opened its own devices (a plan)
    final Engine engine;
    final TandemServer server;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    ServerFixture(EngineConfig config, ServerOptions options) throws IOException {
        model = Model.synthetic();
        cpu = Devices.open("cpu");
        engine = Engine.open(model, cpu, config);
        server = TandemServer.start(engine, model, "tandem-embedded", options);
    }

    /** Serves engine (on model), closing both when closed. */
    ServerFixture(Model model, Engine engine, ServerOptions options) throws IOException {
        this.model = model;
        this.cpu = null;
        this.engine = engine;
        this.server = TandemServer.start(engine, model, "tandem-embedded", options);
    }

    ServerFixture() throws IOException {
        this(EngineConfig.defaults(512), ServerOptions.loopback());
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.port() + path);
    }

    HttpResponse<String> post(String path, String body, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json");
        if (headers.length > 0) {
            b.headers(headers);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode json(String body) throws IOException {
        return JSON.readTree(body);
    }

    /** A metric's value from /metrics (the first sample whose line starts with name). */
    double metric(String name) throws IOException, InterruptedException {
        for (String line : get("/metrics").body().split("\n")) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError("no metric " + name);
    }

    /** Waits for condition, failing after a generous bound (a hang, not a slow machine, is what it catches). */
    static void eventually(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("never happened: " + what);
            }
            Thread.sleep(50);
        }
    }

    @Override
    public void close() {
        http.shutdownNow();
        server.close();
        engine.close();
        if (cpu != null) {
            cpu.close();
        }
        model.close();
    }
}
