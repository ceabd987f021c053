package dev.tandem.runtime.cli;

import dev.tandem.runtime.error.SafeText;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Output files named on the command line, checked before a run starts, so a typo in a directory
 * costs a usage error (exit 2) at once instead of an internal error after minutes of work.
 */
final class Outputs {
    private Outputs() {}

    /** Null when file is null; otherwise fails unless file can be created or overwritten. */
    static Path writableFile(Path file, String flag) {
        if (file == null) {
            return null;
        }
        Path absolute = file.toAbsolutePath();
        Path dir = absolute.getParent();
        if (Files.isDirectory(absolute)) {
            throw usage(flag, file, "is a directory");
        }
        if (dir == null || !Files.isDirectory(dir)) {
            throw usage(flag, file, "directory " + SafeText.path(dir) + " does not exist");
        }
        if (Files.exists(absolute) ? !Files.isWritable(absolute) : !Files.isWritable(dir)) {
            throw usage(flag, file, "permission denied");
        }
        return file;
    }

    /** What writing failed with after the checks passed (a full disk, a file removed meanwhile). */
    static ExitCodes.UsageException cannotWrite(String flag, Path file, IOException e) {
        return usage(flag, file, "cannot write: " + e.getMessage());
    }

    private static ExitCodes.UsageException usage(String flag, Path file, String problem) {
        return new ExitCodes.UsageException(SafeText.line(flag + " " + SafeText.path(file) + ": " + problem));
    }
}
