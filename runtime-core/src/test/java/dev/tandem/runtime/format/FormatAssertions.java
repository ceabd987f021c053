package dev.tandem.runtime.format;

import dev.tandem.runtime.error.ModelFormatException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shared checks: a malformed file must fail with a ModelFormatException that says where and what. */
final class FormatAssertions {
    private FormatAssertions() {}

    static Path write(Path dir, String name, byte[] bytes) {
        try {
            return Files.write(dir.resolve(name), bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Opens the bytes as GGUF; expects a ModelFormatException at {@code offset} (or -1) mentioning every fragment. */
    static ModelFormatException assertGgufError(Path dir, byte[] bytes, long offset, String... fragments) {
        Path file = write(dir, "bad.gguf", bytes);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> GgufFile.open(file).close());
        assertMentions(e, file, offset, fragments);
        return e;
    }

    static void assertMentions(ModelFormatException e, Path file, long offset, String... fragments) {
        String message = e.getMessage();
        assertTrue(message.contains(file.toString()), () -> "message should name the file: " + message);
        assertEquals(file, e.file());
        if (offset >= 0) {
            assertEquals(offset, e.offset(), () -> "offset in: " + message);
            assertTrue(message.contains("at offset " + offset), () -> "message should name the offset: " + message);
        }
        for (String f : fragments) {
            assertTrue(message.contains(f), () -> "message should contain '" + f + "': " + message);
        }
    }
}
