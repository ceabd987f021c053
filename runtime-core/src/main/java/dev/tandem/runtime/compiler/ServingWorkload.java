package dev.tandem.runtime.compiler;

import dev.tandem.runtime.error.TandemException;

/**
 * What a serving benchmark sends: every request has {@code inputTokens} of prompt and generates
 * {@code outputTokens}. In the continuous-batching steady state a running sequence sits, on average,
 * half-way through its output, so its KV cache holds {@link #meanContext()} positions.
 */
public record ServingWorkload(int inputTokens, int outputTokens) {
    /** Beyond any context a catalog model has; keeps products of lengths far from overflow. */
    public static final int MAX_TOKENS = 10_000_000;

    public ServingWorkload {
        if (inputTokens < 1 || outputTokens < 1 || inputTokens > MAX_TOKENS || outputTokens > MAX_TOKENS) {
            throw new WorkloadSyntaxException("--workload", inputTokens + ":" + outputTokens,
                    "ISL and OSL must be between 1 and " + MAX_TOKENS);
        }
    }

    /** Parses ISL:OSL, e.g. 1024:256; {@code flag} names the option in errors. */
    public static ServingWorkload parse(String text, String flag) {
        if (text == null || text.isBlank()) {
            throw new WorkloadSyntaxException(flag, String.valueOf(text), "expected ISL:OSL, e.g. 1024:256");
        }
        String[] parts = text.trim().split(":", -1);
        if (parts.length != 2) {
            throw new WorkloadSyntaxException(flag, text, "expected ISL:OSL (input and output tokens per request), e.g. 1024:256");
        }
        int isl = count(flag, text, parts[0], "ISL"), osl = count(flag, text, parts[1], "OSL");
        return new ServingWorkload(isl, osl);
    }

    private static int count(String flag, String text, String part, String what) {
        try {
            long v = Long.parseLong(part.trim());
            if (v < 1 || v > MAX_TOKENS) {
                throw new WorkloadSyntaxException(flag, text, what + " must be between 1 and " + MAX_TOKENS + ", got " + v);
            }
            return (int) v;
        } catch (NumberFormatException e) {
            throw new WorkloadSyntaxException(flag, text, what + " '" + part + "' is not a whole number of tokens");
        }
    }

    /** Mean KV positions of a decoding sequence: the prompt plus half the output. */
    public double meanContext() { return inputTokens + outputTokens / 2.0; }

    /**
     * Mean pages a running sequence holds, pages of {@code pageTokens}: the exact mean of
     * ceil(n / page) over the OSL positions n = ISL+1 .. ISL+OSL a sequence passes through.
     */
    public double meanPages(int pageTokens) {
        long sum = ceilDivPrefix(inputTokens + (long) outputTokens, pageTokens) - ceilDivPrefix(inputTokens, pageTokens);
        return (double) sum / outputTokens;
    }

    /** Sum of ceil(n / p) for n = 1..m, in closed form. */
    static long ceilDivPrefix(long m, int p) {
        long full = m / p, rest = m % p;
        // Pages k = 1..full each cover p values of n; the last partial page covers rest values.
        return p * full * (full + 1) / 2 + rest * (full + 1);
    }

    @Override
    public String toString() { return inputTokens + ":" + outputTokens; }

    /** A --workload value that is not ISL:OSL (a usage error naming the flag). */
    public static final class WorkloadSyntaxException extends TandemException {
        public WorkloadSyntaxException(String flag, String value, String why) {
            super(flag + " '" + value + "': " + why);
        }
    }
}
