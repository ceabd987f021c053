package dev.tandem.runtime.error;

/** A prompt does not fit in the session's context. */
public class ContextLengthException extends TandemException {
    public ContextLengthException(String message) { super(message); }
}
