/**
 * {@code tandem serve}: an OpenAI-compatible HTTP server over the batching engine
 * ({@link dev.tandem.runtime.engine.Engine}), with Prometheus metrics. Adds the subcommand to
 * runtime-core's CLI through {@link dev.tandem.runtime.cli.spi.SubcommandProvider}.
 */
module dev.tandem.server {
    requires dev.tandem.runtime;
    requires info.picocli;
    requires com.fasterxml.jackson.databind;
    requires org.eclipse.jetty.server;
    requires io.prometheus.metrics.core;
    requires io.prometheus.metrics.model;
    requires io.prometheus.writer.text;
    requires jinjava;

    exports dev.tandem.server;
    opens dev.tandem.server to info.picocli, jinjava;

    provides dev.tandem.runtime.cli.spi.SubcommandProvider with dev.tandem.server.ServeProvider;
}
