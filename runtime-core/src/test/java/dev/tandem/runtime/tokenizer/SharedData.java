package dev.tandem.runtime.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the read-only shared data (../shared); a missing directory fails the test rather than skipping it. */
final class SharedData {
    private SharedData() {}

    static Path file(String relative) {
        String dir = System.getProperty("tandem.shared");
        if (dir == null || dir.isBlank()) {
            throw new IllegalStateException("system property tandem.shared is not set (surefire sets it to <repo>/../shared)");
        }
        Path file = Path.of(dir).resolve(relative);
        if (!Files.isRegularFile(file)) {
            throw new IllegalStateException("shared data file missing: " + file.toAbsolutePath());
        }
        return file;
    }
}
