package dev.tandem.factory;

/**
 * What every request looks like: {@code inputTokens} of prompt (ISL) and {@code outputTokens}
 * generated (OSL). Revenue is counted on output tokens.
 */
public record RequestShape(int inputTokens, int outputTokens) {
    public RequestShape {
        if (inputTokens < 1 || outputTokens < 1) {
            throw new IllegalArgumentException("a workload needs ISL and OSL >= 1, got " + inputTokens + ":" + outputTokens);
        }
    }

    @Override
    public String toString() { return inputTokens + ":" + outputTokens; }
}
