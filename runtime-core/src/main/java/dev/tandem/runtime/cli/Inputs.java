package dev.tandem.runtime.cli;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.Pool;
import dev.tandem.runtime.compiler.PoolParser;
import dev.tandem.runtime.compiler.PoolSyntaxException;

import java.nio.file.Files;
import java.nio.file.Path;

/** Opening the files named on the command line, with one-line errors for unreadable paths. */
final class Inputs {
    private Inputs() {}

    static Path readableFile(Path file, String what) {
        if (!Files.exists(file)) {
            throw new ExitCodes.InputFileException("cannot read " + what + " " + file + ": no such file");
        }
        if (!Files.isRegularFile(file)) {
            throw new ExitCodes.InputFileException("cannot read " + what + " " + file + ": not a regular file");
        }
        if (!Files.isReadable(file)) {
            throw new ExitCodes.InputFileException("cannot read " + what + " " + file + ": permission denied");
        }
        return file;
    }

    /** The model at modelFile (or the embedded one when null), with tokenizerFile when given. */
    static Model model(Path modelFile, Path tokenizerFile) {
        if (modelFile == null) {
            if (tokenizerFile != null) {
                throw new ExitCodes.UsageException("--tokenizer needs -m MODEL: the embedded model has its own vocabulary");
            }
            return Model.embedded();
        }
        readableFile(modelFile, "model");
        if (tokenizerFile == null) {
            return Model.load(modelFile);
        }
        readableFile(tokenizerFile, "tokenizer");
        return Model.load(modelFile, tokenizerFile);
    }

    /** {@link #model(Path, Path)}, warning on err when a tokenizer.bin holds more pieces than the model uses. */
    static Model model(Path modelFile, Path tokenizerFile, java.io.PrintWriter err) {
        Model m = model(modelFile, tokenizerFile);
        if (tokenizerFile != null) {
            int pieces = Model.tokenizerPieces(tokenizerFile);
            if (pieces > m.config().vocabSize()) {
                err.println("tandem: warning: --tokenizer " + tokenizerFile + " has " + pieces + " pieces, the model's vocabulary "
                        + m.config().vocabSize() + ": only the first " + m.config().vocabSize() + " are used (llama2.c's rule)");
            }
        }
        return m;
    }

    /**
     * Warns on err when the prompt holds text the vocabulary has no piece for (it became the unknown
     * id): the model still runs, but does not see that text as written.
     */
    static void warnUnknown(java.io.PrintWriter err, dev.tandem.runtime.tokenizer.Tokenizer tokenizer, int[] ids) {
        int n = tokenizer.countUnknown(ids);
        if (n > 0) {
            err.println("tandem: warning: " + n + " of the prompt's " + ids.length + " tokens are unknown (id "
                    + tokenizer.unknown() + "): the vocabulary has no piece for that text, so the model does not see it as written");
        }
    }

    /** The --pool text parsed; a malformed entry is a usage error naming the flag. */
    static Pool pool(String text) {
        try {
            return PoolParser.parse(text, new Catalog());
        } catch (PoolSyntaxException e) {
            throw new ExitCodes.UsageException("--pool: " + e.getMessage());
        }
    }

    static int[] parseIds(String csv, String flag) {
        String[] parts = csv.trim().split("\\s*,\\s*");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new ExitCodes.UsageException(flag + ": '" + parts[i] + "' is not a token id (expected e.g. 1,2,3)");
            }
        }
        return ids;
    }
}
