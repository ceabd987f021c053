/**
 * Device-independent runtime: formats, tokenizers, the reference transformer, devices, sessions,
 * the plan compiler and executor, and the CLI.
 *
 * <p>API: {@code dev.tandem.runtime} (models, sessions), {@code .error} (the typed errors),
 * {@code .generate} (sampling), {@code .engine} (the batching engine), {@code .cli.spi} (subcommands
 * other modules add to {@code tandem}), {@code .model} and {@code .tokenizer} (what a model exposes),
 * and {@code .device}, the SPI a device backend implements. Everything else is internal; the compiler is exported only to the LPU module, whose
 * exact cost provider implements its {@code OpCostProvider}, to the load generator, which draws
 * the predicted frontier, to the server, whose {@code serve --pool} compiles a plan to find its device,
 * and to the token-factory planner, which scales the frontier to a site.
 */
module dev.tandem.runtime {
    requires transitive dev.tandem.kernels;
    requires info.picocli;
    requires com.fasterxml.jackson.databind;
    requires jdk.management;

    exports dev.tandem.runtime;
    exports dev.tandem.runtime.error;
    exports dev.tandem.runtime.generate;
    exports dev.tandem.runtime.model;
    exports dev.tandem.runtime.tokenizer;
    exports dev.tandem.runtime.device;
    exports dev.tandem.runtime.engine;
    exports dev.tandem.runtime.cli.spi;
    exports dev.tandem.runtime.compiler to dev.tandem.device.lpu, dev.tandem.loadgen, dev.tandem.server, dev.tandem.factory;

    // Jackson writes the CLI's JSON reports (records in cli) and the plans in them (records in compiler).
    opens dev.tandem.runtime.cli to info.picocli, com.fasterxml.jackson.databind;
    opens dev.tandem.runtime.compiler to com.fasterxml.jackson.databind;
    opens dev.tandem.runtime.profile to com.fasterxml.jackson.databind;

    uses dev.tandem.runtime.device.DeviceBackend;
    uses dev.tandem.runtime.cli.spi.SubcommandProvider;
    uses dev.tandem.runtime.compiler.OpCostProvider;
    provides dev.tandem.runtime.compiler.OpCostProvider with dev.tandem.runtime.profile.ProfiledCosts;
    provides dev.tandem.runtime.device.DeviceBackend with
            dev.tandem.runtime.device.cpu.CpuBackend,
            dev.tandem.runtime.device.NullBackend;
}
