package dev.tandem.runtime;

/** A prompt does not fit in the session's context. */
public class ContextLengthException extends TandemException {
    public ContextLengthException(String message) { super(message); }
}
