package dev.tandem.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.engine.Engine;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.concurrent.Executors;

/**
 * The HTTP side of {@code tandem serve}: Jetty 12 (core handlers, no servlets), every request on a
 * virtual thread so a stream may block on its tokens. Routes, the API key, the body limit and the
 * OpenAI-style error bodies live here; generation is {@link CompletionHandler}'s.
 */
public final class TandemServer implements AutoCloseable {
    private final Server jetty;
    private final ServerConnector connector;
    private final ServerOptions options;
    private final ServerMetrics metrics;
    private final CompletionHandler completions;
    private final ObjectMapper json = new ObjectMapper();
    private final String modelId;
    private final byte[] apiKey;

    private TandemServer(Engine engine, Model model, String modelId, ServerOptions options) {
        this.options = options;
        this.modelId = modelId;
        this.apiKey = options.apiKey() == null ? null : options.apiKey().getBytes(StandardCharsets.UTF_8);
        this.metrics = new ServerMetrics(engine);
        this.completions = new CompletionHandler(engine, model, modelId,
                ChatTemplates.forModel(model, options.chatTemplate()), metrics, json);
        QueuedThreadPool threads = new QueuedThreadPool(options.maxPlatformThreads());
        threads.setName("tandem-http");
        threads.setVirtualThreadsExecutor(Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("tandem-http-v", 0).factory()));
        this.jetty = new Server(threads);
        this.connector = new ServerConnector(jetty);
        connector.setHost(options.host());
        connector.setPort(options.port());
        jetty.addConnector(connector);
        jetty.setHandler(new Routes());
    }

    /**
     * Starts a server for engine (which the caller keeps open and closes after the server) on
     * options' address; port 0 picks a free one ({@link #port()}).
     * @throws IOException when the address cannot be bound
     */
    public static TandemServer start(Engine engine, Model model, String modelId, ServerOptions options) throws IOException {
        TandemServer s = new TandemServer(engine, model, modelId, options);
        try {
            s.jetty.start();
        } catch (IOException e) {
            s.close();
            throw e;
        } catch (Exception e) {
            s.close();
            throw new IOException("cannot start the server on " + options.host() + ":" + options.port() + ": " + e.getMessage(), e);
        }
        return s;
    }

    /** The port bound (the one picked when options asked for 0). */
    public int port() { return connector.getLocalPort(); }

    /** Which chat template /v1/chat/completions uses. */
    public String chatTemplate() { return completions.templateName(); }

    /** Blocks until the server stops. */
    public void join() throws InterruptedException { jetty.join(); }

    @Override
    public void close() {
        try {
            jetty.stop();
        } catch (Exception e) {
            throw new IllegalStateException("stopping the server failed: " + e.getMessage(), e);
        }
    }

    private final class Routes extends Handler.Abstract {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            String path = Request.getPathInContext(request);
            String method = request.getMethod();
            int status;
            try {
                status = route(path, method, request, response);
            } catch (ApiException e) {
                status = e.status;
                if (!response.isCommitted()) {
                    error(response, e);
                }
            } catch (IOException e) {
                // The client went away (a stream's sequence is cancelled by then); nothing to answer.
                status = 499;
            } catch (RuntimeException e) {
                status = 500;
                if (!response.isCommitted()) {
                    error(response, new ApiException(500, "server_error", null, "internal error: " + e, 0));
                }
            }
            metrics.requests.labelValues(endpoint(path), Integer.toString(status)).inc();
            callback.succeeded();
            return true;
        }

        private int route(String path, String method, Request request, Response response) throws IOException {
            switch (path) {
                case "/health" -> {
                    requireMethod(method, "GET");
                    send(response, 200, "application/json", "{\"status\":\"ok\"}");
                }
                case "/metrics" -> {
                    requireMethod(method, "GET");
                    ByteArrayOutputStream text = new ByteArrayOutputStream();
                    metrics.write(text);
                    send(response, 200, ServerMetrics.contentType(), text.toString(StandardCharsets.UTF_8));
                }
                case "/v1/models" -> {
                    requireMethod(method, "GET");
                    authorize(request);
                    ObjectNode list = json.createObjectNode().put("object", "list");
                    list.putArray("data").addObject().put("id", modelId).put("object", "model")
                            .put("created", 0).put("owned_by", "tandem");
                    send(response, 200, "application/json", json.writeValueAsString(list));
                }
                case "/v1/completions", "/v1/chat/completions" -> {
                    requireMethod(method, "POST");
                    // The body first (bounded by maxBodyBytes), then the key: a 401 sent with the body
                    // still unread let the connection close on unread bytes, and the client's TCP reset
                    // could discard the 401 before it was read (ServerErrorsTest failed once on CI so).
                    byte[] body = readBody(request);
                    authorize(request);
                    completions.handle(body, path.equals("/v1/chat/completions"), new JettyExchange(response));
                }
                default -> throw new ApiException(404, "invalid_request_error", null, "no such endpoint: " + method + " " + path, 0);
            }
            return response.getStatus();
        }
    }

    private void requireMethod(String method, String expected) {
        if (!method.equals(expected)) {
            throw new ApiException(405, "invalid_request_error", null, "use " + expected + " here, not " + method, 0);
        }
    }

    private void authorize(Request request) {
        if (apiKey == null) {
            return;
        }
        String header = request.getHeaders().get(HttpHeader.AUTHORIZATION);
        byte[] given = header != null && header.startsWith("Bearer ")
                ? header.substring(7).trim().getBytes(StandardCharsets.UTF_8) : new byte[0];
        if (!MessageDigest.isEqual(apiKey, given)) {
            throw new ApiException(401, "invalid_api_key", null,
                    header == null ? "missing the API key: send Authorization: Bearer KEY" : "wrong API key", 0);
        }
    }

    private byte[] readBody(Request request) throws IOException {
        long limit = options.maxBodyBytes();
        if (request.getLength() > limit) {
            throw tooLarge(limit);
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        try (InputStream in = Content.Source.asInputStream(request)) {
            byte[] buf = new byte[8192];
            for (int n; (n = in.read(buf)) >= 0; ) {
                body.write(buf, 0, n);
                if (body.size() > limit) {
                    throw tooLarge(limit);
                }
            }
        }
        return body.toByteArray();
    }

    private static ApiException tooLarge(long limit) {
        return new ApiException(413, "invalid_request_error", null, "the request body is over the limit of " + limit + " bytes", 0);
    }

    private void error(Response response, ApiException e) {
        ObjectNode body = json.createObjectNode();
        ObjectNode err = body.putObject("error").put("message", e.getMessage()).put("type", e.type);
        if (e.param == null) {
            err.putNull("param");
        } else {
            err.put("param", e.param);
        }
        err.putNull("code");
        if (e.retryAfterSeconds > 0) {
            response.getHeaders().put(HttpHeader.RETRY_AFTER, Integer.toString(e.retryAfterSeconds));
        }
        try {
            send(response, e.status, "application/json", json.writeValueAsString(body));
        } catch (IOException ignored) {
            // The client is gone; there is no one to tell.
        }
    }

    private static void send(Response response, int status, String contentType, String body) throws IOException {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        try (OutputStream out = Content.Sink.asOutputStream(response)) {
            out.write(body.getBytes(StandardCharsets.UTF_8));
        }
    }

    private static String endpoint(String path) {
        return switch (path) {
            case "/health", "/metrics", "/v1/models", "/v1/completions", "/v1/chat/completions" -> path;
            default -> "other";
        };
    }

    private final class JettyExchange implements CompletionHandler.Exchange {
        private final Response response;

        JettyExchange(Response response) {
            this.response = response;
        }

        @Override
        public void json(ObjectNode body) throws IOException {
            send(response, 200, "application/json", json.writeValueAsString(body));
        }

        @Override
        public OutputStream eventStream() throws IOException {
            response.setStatus(200);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream; charset=utf-8");
            response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
            OutputStream out = Content.Sink.asOutputStream(response);
            // The headers now: a client sees the request accepted before its first token.
            out.flush();
            return out;
        }
    }
}
