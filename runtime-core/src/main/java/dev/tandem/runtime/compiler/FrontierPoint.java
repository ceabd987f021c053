package dev.tandem.runtime.compiler;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One operating point of a serving deployment in the continuous-batching steady state.
 *
 * @param batch                    sequences running concurrently on one replica
 * @param concurrency              batch × replicas: requests in flight in the whole deployment
 * @param tensorParallel           devices per stage of a replica
 * @param stages                   pipeline stages of a replica
 * @param replicas                 independent copies of the model in the pool
 * @param tokensPerSecondPerUser   output tokens/s one request sees (1 / TPOT)
 * @param tokensPerSecondPerSystem output tokens/s of the deployment, prefill amortised over each request's output
 * @param ttftMs                   one iteration carrying a whole prompt beside batch − 1 decodes (no queueing)
 * @param tpotMs                   one steady-state iteration
 * @param watts                    board power of every device used
 * @param joulesPerToken           watts / system tokens/s
 * @param kvBytesPerDevice         KV cache pages one device holds at this batch
 * @param bound                    what dominates an iteration: weights, kv cache, compute or communication
 * @param source                   the model that priced the point
 */
public record FrontierPoint(int batch, long concurrency,
                            @JsonProperty("tensor_parallel") int tensorParallel, int stages, int replicas,
                            @JsonProperty("tokens_per_s_per_user") double tokensPerSecondPerUser,
                            @JsonProperty("tokens_per_s_per_system") double tokensPerSecondPerSystem,
                            @JsonProperty("ttft_ms") double ttftMs, @JsonProperty("tpot_ms") double tpotMs,
                            double watts, @JsonProperty("joules_per_token") double joulesPerToken,
                            @JsonProperty("kv_bytes_per_device") long kvBytesPerDevice, String bound, String source) {

    /** Whether this point is at least as good as {@code o} on both axes and better on one. */
    public boolean dominates(FrontierPoint o) {
        return tokensPerSecondPerUser >= o.tokensPerSecondPerUser && tokensPerSecondPerSystem >= o.tokensPerSecondPerSystem
                && (tokensPerSecondPerUser > o.tokensPerSecondPerUser || tokensPerSecondPerSystem > o.tokensPerSecondPerSystem);
    }
}
