package dev.tandem.runtime;

/**
 * What one {@link Session#generate} call produced.
 *
 * @param promptIds    the prompt as run (with BOS when text was encoded)
 * @param generatedIds the generated ids, prompt excluded
 * @param promptLogits logits after the last prompt token (vocab)
 * @param stopReason   why generation ended
 * @param prefillNanos time to run the prompt and pick the first token
 * @param decodeNanos  time for every later token
 */
public record GenerationResult(int[] promptIds, int[] generatedIds, float[] promptLogits, StopReason stopReason,
                               long prefillNanos, long decodeNanos) {

    /** Time to first token, in milliseconds. */
    public double ttftMillis() { return prefillNanos / 1e6; }

    /** Prompt tokens per second. */
    public double prefillTokensPerSecond() { return perSecond(promptIds.length, prefillNanos); }

    /** Generated tokens per second after the first (each costs one decode step). */
    public double decodeTokensPerSecond() { return perSecond(generatedIds.length - 1, decodeNanos); }

    /**
     * A one-line summary instead of the record's default (array identities and every logit):
     * {@code GenerationResult[prompt 5 ids, generated 32 ids, stop MAX_TOKENS, TTFT 12.30 ms, prefill 406.5 tok/s, decode 95.2 tok/s]}.
     */
    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT,
                "GenerationResult[prompt %d ids, generated %d ids, stop %s, TTFT %.2f ms, prefill %.1f tok/s, decode %.1f tok/s]",
                promptIds.length, generatedIds.length, stopReason, ttftMillis(), prefillTokensPerSecond(), decodeTokensPerSecond());
    }

    private static double perSecond(int count, long nanos) {
        return count <= 0 || nanos <= 0 ? 0 : count * 1e9 / nanos;
    }
}
