package dev.tandem.server;

/**
 * How a {@link TandemServer} listens.
 *
 * @param host               the address to bind; loopback unless told otherwise
 * @param port               0 picks a free port
 * @param apiKey             null: no key; else every /v1 request needs {@code Authorization: Bearer KEY}
 * @param maxBodyBytes       larger request bodies get 413
 * @param chatTemplate       null: the model's own template or a fallback; else llama2, llama3 or chatml
 * @param maxPlatformThreads Jetty's platform threads (selector, acceptor); handlers run on virtual threads
 */
public record ServerOptions(String host, int port, String apiKey, long maxBodyBytes, String chatTemplate,
                            int maxPlatformThreads) {
    public static final String LOOPBACK = "127.0.0.1";
    public static final long DEFAULT_MAX_BODY_BYTES = 1 << 20;

    /** Loopback, a free port, no key, 1 MiB bodies. */
    public static ServerOptions loopback() {
        return new ServerOptions(LOOPBACK, 0, null, DEFAULT_MAX_BODY_BYTES, null, 16);
    }

    public ServerOptions port(int p) { return new ServerOptions(host, p, apiKey, maxBodyBytes, chatTemplate, maxPlatformThreads); }

    public ServerOptions apiKey(String k) { return new ServerOptions(host, port, k, maxBodyBytes, chatTemplate, maxPlatformThreads); }

    public ServerOptions maxBodyBytes(long n) { return new ServerOptions(host, port, apiKey, n, chatTemplate, maxPlatformThreads); }
}
