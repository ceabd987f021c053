package dev.tandem.runtime.cli;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.error.ModelFormatException;
import dev.tandem.runtime.format.GgufFile;
import dev.tandem.runtime.model.GgufProblems;
import dev.tandem.runtime.tokenizer.Tokenizers;
import dev.tandem.runtime.error.SafeText;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.TensorEntry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "info", mixinStandardHelpOptions = true, description = {"Prints a model's configuration and tensor table.",
        "A GGUF file Tandem cannot load: what its header says, and every problem found in it, one line each."})
final class InfoCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = {"-m", "--model"}, paramLabel = "MODEL", required = true, description = "GGUF or llama2.c .bin file")
    Path model;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Model loaded;
        try {
            loaded = Inputs.model(model, null);
        } catch (ModelFormatException e) {
            if (!Tokenizers.isGguf(model)) {
                throw e;
            }
            return printHeaderOnly(out, e);
        }
        try (Model m = loaded) {
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
            printTensors(out, m.tensors());
        }
        return ExitCodes.OK;
    }

    /**
     * A GGUF file Tandem cannot load: what its header says (architecture, shape keys, formats,
     * vocabulary, chat template, tensors) and every problem found in it, one line each. An unreadable
     * header is still an invalid file (exit 3).
     */
    private int printHeaderOnly(PrintWriter out, ModelFormatException loadError) {
        try (GgufFile gguf = GgufFile.open(model)) {
            List<String> problems = new ArrayList<>(GgufProblems.of(gguf));
            String loaderProblem = GgufProblems.problemOf(loadError);
            if (problems.stream().noneMatch(line -> saysTheSame(line, loaderProblem))) {
                problems.add(0, loaderProblem);
            }
            String arch = gguf.metadata().get("general.architecture") instanceof String a ? a : "(missing)";
            out.printf("model:          %s%n", model);
            out.printf("format:         GGUF v%d (Tandem cannot load this file: see unsupported)%n", gguf.version());
            out.printf("architecture:   %s%n", SafeText.quote(arch));
            List<String> shape = new ArrayList<>();
            for (String key : new String[] {"embedding_length", "feed_forward_length", "block_count", "attention.head_count",
                    "attention.head_count_kv", "expert_count", "expert_used_count", "context_length"}) {
                gguf.get(arch + "." + key).ifPresent(v -> shape.add(key + " " + SafeText.line(String.valueOf(v))));
            }
            out.printf("shape keys:     %s%n", shape.isEmpty() ? "none" : String.join(", ", shape));
            List<TensorEntry> tensors = gguf.tensors().stream()
                    .map(t -> new TensorEntry(t.name(), t.type().name(), t.dims(), t.offset(), t.byteSize())).toList();
            out.printf("formats:        %s%n", ModelSummary.formats(tensors));
            String vocabulary;
            try {
                vocabulary = ModelSummary.vocabulary(Tokenizers.fromGgufMetadata(model, gguf.metadata()));
            } catch (ModelFormatException e) {
                vocabulary = "unreadable: " + GgufProblems.problemOf(e);
                problems.add("vocabulary: " + GgufProblems.problemOf(e));
            }
            out.printf("vocabulary:     %s%n", vocabulary);
            out.printf("chat template:  %s%n", ModelSummary.chatTemplate(java.util.Optional.ofNullable(
                    gguf.metadata().get("tokenizer.chat_template") instanceof String t ? t : null)));
            for (String line : problems) {
                out.printf("unsupported:    %s%n", line);
            }
            printTensors(out, tensors);
        }
        return ExitCodes.OK;
    }

    /** Whether a problem line states what the loader refused the file for (in its words or as the type line). */
    private static boolean saysTheSame(String line, String loaderProblem) {
        if (line.contains(loaderProblem) || loaderProblem.contains(line)) {
            return true;
        }
        java.util.regex.Matcher type = java.util.regex.Pattern.compile("has type (\\w+), which Tandem does not support").matcher(loaderProblem);
        return type.find() && line.startsWith("tensor type " + type.group(1) + " ");
    }

    private static void printTensors(PrintWriter out, List<TensorEntry> tensors) {
        out.printf("%n%-32s %-6s %-20s %12s%n", "tensor", "type", "shape", "bytes");
        for (TensorEntry t : tensors) {
            // Names come from the file: escaped and bounded, so a crafted one cannot drive the terminal.
            out.printf("%-32s %-6s %-20s %12d%n", SafeText.line(t.name()), t.type(), t.shape(), t.bytes());
        }
    }
}
