package dev.tandem.runtime.cli;

import dev.tandem.runtime.error.ContextLengthException;
import dev.tandem.runtime.error.ModelFormatException;
import dev.tandem.runtime.error.TandemException;
import dev.tandem.runtime.compiler.CapacityException;
import dev.tandem.runtime.device.DeviceMemoryException;
import dev.tandem.runtime.device.DeviceUnavailableException;

import java.io.PrintWriter;

/** Maps failures to DESIGN.md §8's exit codes and prints them as one line (traces only for bugs). */
final class ExitCodes {
    static final int OK = 0;
    static final int INTERNAL = 1;
    static final int USAGE = 2;
    static final int INVALID_INPUT = 3;
    static final int DOES_NOT_FIT = 4;

    private ExitCodes() {}

    static int report(Exception e, PrintWriter err) {
        int code = codeFor(e);
        if (code == INTERNAL) {
            err.println("tandem: internal error (a bug; please report it with this trace):");
            e.printStackTrace(err);
        } else {
            err.println("tandem: " + e.getMessage());
        }
        err.flush();
        return code;
    }

    static int codeFor(Exception e) {
        return switch (e) {
            case ModelFormatException m -> INVALID_INPUT;
            case InputFileException f -> INVALID_INPUT;
            case dev.tandem.runtime.profile.ProfileException p -> INVALID_INPUT;
            case ContextLengthException c -> USAGE;
            case DeviceMemoryException d -> DOES_NOT_FIT;
            case CapacityException c -> DOES_NOT_FIT;
            case DeviceUnavailableException d -> DOES_NOT_FIT;
            case UsageException u -> USAGE;
            case TandemException t -> USAGE;
            default -> INTERNAL;
        };
    }

    /** A flag combination or value the user must change. */
    static final class UsageException extends TandemException {
        UsageException(String message) { super(message); }
    }

    /** An input file that cannot be read at all (missing, a directory, no permission). */
    static final class InputFileException extends TandemException {
        InputFileException(String message) { super(message); }
    }
}
