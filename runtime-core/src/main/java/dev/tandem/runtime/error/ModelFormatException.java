package dev.tandem.runtime.error;

import java.nio.file.Path;

/**
 * A model or tokenizer file is malformed or unsupported. The message names the file, and the byte
 * offset or tensor where the problem was found, and what is wrong: one line of at most
 * {@link SafeText#MAX_MESSAGE} printable characters, whatever the file holds (strings from the file
 * enter problems through {@link SafeText#quote}).
 */
public class ModelFormatException extends TandemException {
    private final Path file;
    private final long offset;

    /** offset &lt; 0 when the problem has no single byte position (a missing key, say). */
    public ModelFormatException(Path file, long offset, String problem) {
        super(SafeText.line(SafeText.path(file) + (offset >= 0 ? " at offset " + offset : "") + ": " + problem));
        this.file = file;
        this.offset = offset;
    }

    public ModelFormatException(Path file, String problem) { this(file, -1, problem); }

    public Path file() { return file; }

    /** Byte offset of the problem, or -1. */
    public long offset() { return offset; }
}
