package dev.tandem.runtime;

/**
 * How tokens are chosen and when generation stops. Immutable; each setter returns a copy.
 * temperature 0 means greedy (argmax). topK 0 and topP 1 disable those filters. Generation stops at
 * the tokenizer's EOS when stopAtEos, and at any of stopTokens (e.g. BOS for llama2.c's stories).
 * logprobs asks each {@link Token} to carry {@link TokenLogprobs}: -1 none (the default), 0 the chosen
 * token's log-probability, N also the N most likely ids' (at most {@link #MAX_LOGPROBS}).
 */
public record Sampling(float temperature, int topK, float topP, long seed, int maxTokens, boolean stopAtEos,
                       int[] stopTokens, int logprobs) {
    /** The most alternatives a token reports; OpenAI's API allows 20. */
    public static final int MAX_LOGPROBS = 20;

    public Sampling {
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0, got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top-k must be >= 0 (0 disables it), got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        }
        if (maxTokens < 0) {
            throw new IllegalArgumentException("max tokens must be >= 0, got " + maxTokens);
        }
        if (logprobs < -1 || logprobs > MAX_LOGPROBS) {
            throw new IllegalArgumentException("logprobs must be in [-1, " + MAX_LOGPROBS + "] (-1: none), got " + logprobs);
        }
        stopTokens = stopTokens.clone();
    }

    public Sampling(float temperature, int topK, float topP, long seed, int maxTokens, boolean stopAtEos,
                    int[] stopTokens) {
        this(temperature, topK, topP, seed, maxTokens, stopAtEos, stopTokens, -1);
    }

    public Sampling(float temperature, int topK, float topP, long seed, int maxTokens, boolean stopAtEos) {
        this(temperature, topK, topP, seed, maxTokens, stopAtEos, new int[0]);
    }

    @Override
    public int[] stopTokens() { return stopTokens.clone(); }

    /** Whether id ends generation by itself (EOS aside). */
    public boolean isStopToken(int id) {
        for (int s : stopTokens) {
            if (s == id) {
                return true;
            }
        }
        return false;
    }

    /** Also stop when one of these ids is generated (it is kept in the output, like EOS). */
    public Sampling stopTokens(int... ids) { return new Sampling(temperature, topK, topP, seed, maxTokens, stopAtEos, ids, logprobs); }

    /** Argmax at every step, up to 256 tokens, stopping at EOS. */
    public static Sampling greedy() {
        return new Sampling(0f, 0, 1f, 0L, 256, true);
    }

    /** Temperature sampling with a fixed seed; no top-k or top-p filtering. */
    public static Sampling temperature(float temperature, long seed) {
        return new Sampling(temperature, 0, 1f, seed, 256, true);
    }

    public Sampling maxTokens(int n) { return new Sampling(temperature, topK, topP, seed, n, stopAtEos, stopTokens, logprobs); }

    public Sampling topK(int k) { return new Sampling(temperature, k, topP, seed, maxTokens, stopAtEos, stopTokens, logprobs); }

    public Sampling topP(float p) { return new Sampling(temperature, topK, p, seed, maxTokens, stopAtEos, stopTokens, logprobs); }

    public Sampling seed(long s) { return new Sampling(temperature, topK, topP, s, maxTokens, stopAtEos, stopTokens, logprobs); }

    public Sampling withTemperature(float t) { return new Sampling(t, topK, topP, seed, maxTokens, stopAtEos, stopTokens, logprobs); }

    /** Each token carries its log-probability and the top most likely ids' ({@code top} 0: only its own; -1: none). */
    public Sampling logprobs(int top) { return new Sampling(temperature, topK, topP, seed, maxTokens, stopAtEos, stopTokens, top); }

    /** Whether an EOS token ends generation (the references generate through it). */
    public Sampling stopAtEos(boolean stop) { return new Sampling(temperature, topK, topP, seed, maxTokens, stop, stopTokens, logprobs); }

    public boolean isGreedy() { return temperature == 0f; }
}
