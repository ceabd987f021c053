package dev.tandem.runtime.compiler;

/**
 * What a plan is predicted to yield.
 *
 * @param ttftMs             prefill of the whole batch, plus moving its KV cache when decode runs elsewhere
 * @param tpotMs             one decode step of the whole batch with the KV cache at the context length
 * @param tokensPerSPerUser  1 / TPOT
 * @param tokensPerS         batch / TPOT (pipeline stages are not filled with further batches)
 * @param joulesPerToken     board power of every device the plan uses × TPOT / batch
 */
public record Predictions(double ttftMs, double tpotMs, double tokensPerSPerUser, double tokensPerS, double joulesPerToken) {}
