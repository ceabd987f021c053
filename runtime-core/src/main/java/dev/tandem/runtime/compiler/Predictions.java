package dev.tandem.runtime.compiler;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * What a plan is predicted to yield.
 *
 * @param ttftMs             prefill of the whole batch, plus moving its KV cache when decode runs elsewhere
 * @param tpotMs             one decode step of the whole batch with the KV cache at the context length
 * @param tokensPerSPerUser  1 / TPOT
 * @param tokensPerS         batch / TPOT (pipeline stages are not filled with further batches)
 * @param joulesPerToken     board power of every device the plan uses × TPOT / batch
 */
public record Predictions(@JsonProperty("ttft_ms") double ttftMs, @JsonProperty("tpot_ms") double tpotMs,
                          @JsonProperty("tokens_per_s_per_user") double tokensPerSPerUser,
                          @JsonProperty("tokens_per_s") double tokensPerS,
                          @JsonProperty("joules_per_token") double joulesPerToken) {}
