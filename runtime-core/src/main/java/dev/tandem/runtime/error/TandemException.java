package dev.tandem.runtime.error;

/** Base of every error Tandem reports to users; the CLI maps each subtype to an exit code. */
public class TandemException extends RuntimeException {
    public TandemException(String message) { super(message); }

    public TandemException(String message, Throwable cause) { super(message, cause); }
}
