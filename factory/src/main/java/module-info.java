/**
 * {@code tandem factory}: the token-factory planner. A power-limited site (1 GW, 20 MW, ...) is
 * filled with whole nodes of catalog GPUs and LPUs; each hardware configuration's frontier (tokens/s
 * per user against tokens/s per unit, from a {@link dev.tandem.factory.FrontierSource}) is scaled by
 * the facility's overheads to tokens/s per MW, and an exact linear program allocates the power among
 * the operating points to maximise revenue over price tiers, at each LPU share of the power.
 * Adds the subcommand through {@link dev.tandem.runtime.cli.spi.SubcommandProvider}.
 */
module dev.tandem.factory {
    requires dev.tandem.runtime;
    requires info.picocli;
    requires com.fasterxml.jackson.databind;
    requires com.fasterxml.jackson.dataformat.yaml;
    requires commons.math3;
    requires java.desktop;
    requires org.knowm.xchart;

    exports dev.tandem.factory;
    opens dev.tandem.factory to info.picocli, com.fasterxml.jackson.databind;

    provides dev.tandem.runtime.cli.spi.SubcommandProvider with dev.tandem.factory.FactoryProvider;
}
