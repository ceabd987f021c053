package dev.tandem.runtime.tokenizer;

/** Values of GGUF {@code tokenizer.ggml.token_type}, as llama.cpp defines them. */
public final class GgufTokenType {
    public static final int UNDEFINED = 0;
    public static final int NORMAL = 1;
    public static final int UNKNOWN = 2;
    /** BOS, EOS, chat markers: not text. */
    public static final int CONTROL = 3;
    /** Added tokens that are matched verbatim but are text (decode prints them). */
    public static final int USER_DEFINED = 4;
    public static final int UNUSED = 5;
    /** SentencePiece byte-fallback pieces {@code <0xXX>}. */
    public static final int BYTE = 6;

    private GgufTokenType() {}
}
