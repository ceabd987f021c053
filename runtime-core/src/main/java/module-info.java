/** Device-independent runtime: formats, tokenizers, the reference transformer, devices, sessions and the CLI. */
module dev.tandem.runtime {
    requires transitive dev.tandem.kernels;
    requires info.picocli;
    requires com.fasterxml.jackson.databind;
    requires jdk.management;

    exports dev.tandem.runtime;
    exports dev.tandem.runtime.model;
    exports dev.tandem.runtime.tokenizer;
    exports dev.tandem.runtime.device;
    exports dev.tandem.runtime.compiler;

    opens dev.tandem.runtime.cli to info.picocli;

    uses dev.tandem.runtime.device.DeviceBackend;
    uses dev.tandem.runtime.compiler.OpCostProvider;
    provides dev.tandem.runtime.device.DeviceBackend with
            dev.tandem.runtime.device.cpu.CpuBackend,
            dev.tandem.runtime.device.NullBackend;
}
