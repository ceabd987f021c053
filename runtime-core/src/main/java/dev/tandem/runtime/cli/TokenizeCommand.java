package dev.tandem.runtime.cli;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.tokenizer.Tokenizer;
import dev.tandem.runtime.tokenizer.Tokenizers;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "tokenize", mixinStandardHelpOptions = true, description = "Prints the token ids of TEXT on one line.")
final class TokenizeCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    static final class Source {
        @Option(names = {"-m", "--model"}, paramLabel = "MODEL", description = "a GGUF model with a vocabulary")
        Path model;

        @Option(names = "--tokenizer", paramLabel = "FILE", description = "llama2.c tokenizer.bin or a GGUF")
        Path tokenizer;
    }

    @Option(names = "--no-bos", description = "do not prepend BOS")
    boolean noBos;

    @Parameters(paramLabel = "TEXT", description = "the text to encode")
    String text;

    @Override
    public Integer call() {
        int[] ids;
        if (source.tokenizer != null) {
            Tokenizer tokenizer = Tokenizers.load(Inputs.readableFile(source.tokenizer, "tokenizer"), -1);
            ids = tokenizer.encode(text, !noBos, false);
            Inputs.warnUnknown(spec.commandLine().getErr(), tokenizer, ids);
        } else {
            try (Model m = Inputs.model(source.model, null)) {
                Tokenizer tokenizer = m.tokenizer().orElseThrow(() -> new ExitCodes.UsageException(
                        m.source() + " has no text vocabulary: use --tokenizer FILE"));
                ids = tokenizer.encode(text, !noBos, false);
                Inputs.warnUnknown(spec.commandLine().getErr(), tokenizer, ids);
            }
        }
        StringBuilder line = new StringBuilder();
        for (int id : ids) {
            line.append(line.isEmpty() ? "" : " ").append(id);
        }
        spec.commandLine().getOut().println(line);
        return ExitCodes.OK;
    }
}
