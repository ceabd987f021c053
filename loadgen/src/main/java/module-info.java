/**
 * {@code tandem bench-serve}: a load generator for an OpenAI-compatible server or an in-process
 * {@link dev.tandem.runtime.engine.Engine}. Sweeps concurrency levels or Poisson request rates and
 * reports TTFT, TPOT, tokens/s per user and per system and J/token, as JSON and as a frontier plot
 * beside the compiler's prediction. Adds the subcommand through
 * {@link dev.tandem.runtime.cli.spi.SubcommandProvider}.
 */
module dev.tandem.loadgen {
    requires dev.tandem.runtime;
    requires info.picocli;
    requires com.fasterxml.jackson.databind;
    requires java.net.http;
    requires java.desktop;
    requires org.knowm.xchart;

    exports dev.tandem.loadgen;
    opens dev.tandem.loadgen to info.picocli, com.fasterxml.jackson.databind;

    provides dev.tandem.runtime.cli.spi.SubcommandProvider with dev.tandem.loadgen.BenchServeProvider;
}
