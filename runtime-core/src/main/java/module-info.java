/** Device-independent runtime: formats, tokenizers, the reference transformer, sessions and the CLI. */
module dev.tandem.runtime {
    requires dev.tandem.kernels;
    requires info.picocli;
    requires com.fasterxml.jackson.databind;

    exports dev.tandem.runtime;

    opens dev.tandem.runtime.cli to info.picocli;
}
