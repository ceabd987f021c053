package dev.tandem.loadgen;

/**
 * One request's clock readings (System.nanoTime) and token counts.
 *
 * @param startNanos      when the request was sent or submitted
 * @param firstTokenNanos when its first token arrived (0 when none did)
 * @param endNanos        when its last token arrived or it finished
 */
public record RequestTiming(long startNanos, long firstTokenNanos, long endNanos, int promptTokens, int outputTokens) {
    public double ttftMillis() { return (firstTokenNanos - startNanos) / 1e6; }

    /** Time per output token after the first; defined for two tokens or more. */
    public double tpotMillis() { return (endNanos - firstTokenNanos) / 1e6 / (outputTokens - 1); }

    public boolean hasTpot() { return outputTokens > 1 && endNanos > firstTokenNanos; }
}
