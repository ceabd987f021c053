package dev.tandem.runtime;

/** Why generation ended. */
public enum StopReason {
    /** The model produced its end-of-sequence token, or one of the sampling's stop tokens. */
    EOS,
    /** The requested number of tokens was generated. */
    MAX_TOKENS,
    /** The KV cache (the context length) is full. */
    CONTEXT_FULL
}
