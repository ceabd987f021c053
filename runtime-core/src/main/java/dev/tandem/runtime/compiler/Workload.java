package dev.tandem.runtime.compiler;

/**
 * What is served: {@code batch} concurrent sequences, each with a prompt of {@code promptLen} tokens,
 * decoding until {@code context} positions. TPOT is predicted for the step with {@code context}
 * positions in the KV cache (the slowest one), and the KV cache is sized for it.
 */
public record Workload(int batch, int promptLen, int context) {
    public Workload {
        if (batch < 1 || promptLen < 1 || context < promptLen) {
            throw new IllegalArgumentException("workload needs batch >= 1 and 1 <= prompt length <= context, got batch "
                    + batch + ", prompt " + promptLen + ", context " + context);
        }
    }

    public Workload withBatch(int b) { return new Workload(b, promptLen, context); }
}
