package dev.tandem.runtime.cli;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.SafeText;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.TensorEntry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "info", mixinStandardHelpOptions = true, description = "Prints a model's configuration and tensor table.")
final class InfoCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = {"-m", "--model"}, paramLabel = "MODEL", required = true, description = "GGUF or llama2.c .bin file")
    Path model;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (Model m = Inputs.model(model, null)) {
            LlamaConfig c = m.config();
            out.printf("model:          %s%n", m.source());
            out.printf("format:         %s%n", m.formatDescription());
            out.printf("architecture:   %s%n", ModelSummary.architecture(c));
            out.printf("dim:            %d%n", c.dim());
            out.printf("hidden_dim:     %d%n", c.hiddenDim());
            out.printf("layers:         %d%n", c.nLayers());
            out.printf("heads:          %d (kv %d, head_dim %d)%n", c.nHeads(), c.nKvHeads(), c.headDim());
            if (c.arch().isMoe()) {
                var moe = c.arch().moe();
                out.printf("experts:        %d, %d per token, width %d%s%n", moe.experts(), moe.expertsUsed(), moe.expertHiddenDim(),
                        moe.hasSharedExpert() ? ", shared expert width " + moe.sharedHiddenDim() : "");
            }
            out.printf("vocab:          %d%n", c.vocabSize());
            out.printf("context:        %d%n", c.contextLength());
            out.printf("rms_eps:        %g%n", c.rmsEps());
            out.printf("rope_theta:     %g%s%n", c.ropeTheta(), c.ropeScaling() == null ? "" : " scaling " + c.ropeScaling());
            out.printf("tied_output:    %s%n", m.weights().output() == m.weights().tokenEmbedding());
            out.printf("formats:        %s%n", ModelSummary.formats(m.tensors()));
            out.printf("vocabulary:     %s%n", ModelSummary.vocabulary(m));
            out.printf("chat template:  %s%n", ModelSummary.chatTemplate(m));
            for (String line : ModelSummary.unsupported(m)) {
                out.printf("unsupported:    %s%n", line);
            }
            out.printf("decode weights: %.2f MiB%n", m.weights().decodeWeightBytes(c.arch().isMoe() ? c.arch().moe().expertsUsed() : 0)
                    / (1024.0 * 1024));
            out.printf("%n%-32s %-6s %-20s %12s%n", "tensor", "type", "shape", "bytes");
            for (TensorEntry t : m.tensors()) {
                // Names come from the file: escaped and bounded, so a crafted one cannot drive the terminal.
                out.printf("%-32s %-6s %-20s %12d%n", SafeText.line(t.name()), t.type(), t.shape(), t.bytes());
            }
        }
        return ExitCodes.OK;
    }
}
