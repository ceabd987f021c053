package dev.tandem.runtime.compiler;

/**
 * What auto optimises: the lowest time per output token, or the highest system tokens/s among plans
 * (and batch sizes) whose tokens/s per user is at least {@code minUserTps}.
 */
public record Objective(boolean throughput, double minUserTps) {
    public static Objective lowestTpot() { return new Objective(false, 0); }

    public static Objective maxThroughput(double minUserTps) { return new Objective(true, minUserTps); }

    /** Whether a is better than b under this objective (ties broken by TTFT, then energy). */
    boolean better(Predictions a, Predictions b) {
        if (throughput) {
            boolean aOk = a.tokensPerSPerUser() >= minUserTps, bOk = b.tokensPerSPerUser() >= minUserTps;
            if (aOk != bOk) {
                return aOk;
            }
            if (a.tokensPerS() != b.tokensPerS()) {
                return a.tokensPerS() > b.tokensPerS();
            }
        } else if (a.tpotMs() != b.tpotMs()) {
            return a.tpotMs() < b.tpotMs();
        }
        if (a.ttftMs() != b.ttftMs()) {
            return a.ttftMs() < b.ttftMs();
        }
        return a.joulesPerToken() < b.joulesPerToken();
    }

    @Override
    public String toString() {
        return throughput ? "highest tokens/s with >= " + minUserTps + " tokens/s per user" : "lowest TPOT";
    }
}
