package dev.tandem.runtime.generate;

/**
 * How tokens are chosen and when generation stops. Immutable; each setter returns a copy.
 * temperature 0 means greedy (argmax, after any penalties). topK 0, topP 1 and minP 0 disable those
 * filters; minP keeps the tokens at least minP times as likely as the likeliest. {@link Penalties}
 * lower the logits of tokens seen in the last tokens (prompt included) before anything else.
 * Generation stops at the tokenizer's EOS when stopAtEos, and at any of stopTokens (e.g. BOS for
 * llama2.c's stories). logprobs asks each {@link dev.tandem.runtime.Token} to carry
 * {@link dev.tandem.runtime.TokenLogprobs}: -1 none (the default), 0 the chosen token's
 * log-probability, N also the N most likely ids' (at most {@link #MAX_LOGPROBS}).
 */
public record Sampling(float temperature, int topK, float topP, float minP, Penalties penalties, long seed, int maxTokens,
                       boolean stopAtEos, int[] stopTokens, int logprobs) {
    /** The most alternatives a token reports; OpenAI's API allows 20. */
    public static final int MAX_LOGPROBS = 20;

    /** The seed the CLI samples with unless told otherwise, so two runs of the same command print the same text. */
    public static final long DEFAULT_SEED = 42;

    /**
     * Penalties on tokens already seen, applied to the raw logits in this order: a token seen c > 0
     * times among the last {@code lastN} (prompt and generated; -1 all of them, 0 none) has its
     * logit divided by {@code repeat} when positive and multiplied by it otherwise (the CTRL rule
     * llama.cpp and vLLM use), then {@code c * frequency + presence} subtracted (OpenAI's rule).
     */
    public record Penalties(float repeat, int lastN, float presence, float frequency) {
        /** No penalty; llama.cpp's window of 64 tokens should one be set. */
        public static final Penalties NONE = new Penalties(1f, 64, 0f, 0f);

        public Penalties {
            if (!(repeat > 0) || Float.isInfinite(repeat)) {
                throw new IllegalArgumentException("repeat penalty must be a finite number > 0 (1 disables it), got " + repeat);
            }
            if (lastN < -1) {
                throw new IllegalArgumentException("repeat-last-n must be >= -1 (-1: every token, 0: none), got " + lastN);
            }
            if (!Float.isFinite(presence) || !Float.isFinite(frequency)) {
                throw new IllegalArgumentException("presence and frequency penalties must be finite, got " + presence + " and " + frequency);
            }
        }

        /** Whether these penalties leave every logit as it is. */
        public boolean isNone() { return lastN == 0 || repeat == 1f && presence == 0f && frequency == 0f; }
    }

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
        if (!(minP >= 0 && minP <= 1)) {
            throw new IllegalArgumentException("min-p must be in [0, 1] (0 disables it), got " + minP);
        }
        if (penalties == null) {
            throw new IllegalArgumentException("penalties must not be null (Penalties.NONE: none)");
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
                    int[] stopTokens, int logprobs) {
        this(temperature, topK, topP, 0f, Penalties.NONE, seed, maxTokens, stopAtEos, stopTokens, logprobs);
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
    public Sampling stopTokens(int... ids) {
        return new Sampling(temperature, topK, topP, minP, penalties, seed, maxTokens, stopAtEos, ids, logprobs);
    }

    /** Argmax at every step, up to 256 tokens, stopping at EOS. */
    public static Sampling greedy() {
        return new Sampling(0f, 0, 1f, 0L, 256, true);
    }

    /** Temperature sampling with a fixed seed; no top-k, top-p or min-p filtering. */
    public static Sampling temperature(float temperature, long seed) {
        return new Sampling(temperature, 0, 1f, seed, 256, true);
    }

    /**
     * What llama.cpp's llama-cli samples with unless told otherwise: temperature 0.8, top-k 40, top-p
     * 0.95, min-p 0.05, no penalties; seeded with {@link #DEFAULT_SEED}, up to 256 tokens, stopping at EOS.
     */
    public static Sampling defaults() {
        return new Sampling(0.8f, 40, 0.95f, 0.05f, Penalties.NONE, DEFAULT_SEED, 256, true, new int[0], -1);
    }

    public Sampling maxTokens(int n) { return new Sampling(temperature, topK, topP, minP, penalties, seed, n, stopAtEos, stopTokens, logprobs); }

    public Sampling topK(int k) { return new Sampling(temperature, k, topP, minP, penalties, seed, maxTokens, stopAtEos, stopTokens, logprobs); }

    public Sampling topP(float p) { return new Sampling(temperature, topK, p, minP, penalties, seed, maxTokens, stopAtEos, stopTokens, logprobs); }

    /** Keep only tokens at least p times as likely as the likeliest (0 disables it). */
    public Sampling minP(float p) { return new Sampling(temperature, topK, topP, p, penalties, seed, maxTokens, stopAtEos, stopTokens, logprobs); }

    public Sampling penalties(Penalties p) { return new Sampling(temperature, topK, topP, minP, p, seed, maxTokens, stopAtEos, stopTokens, logprobs); }

    /** The repetition penalty over the last lastN tokens (-1 all), keeping the presence and frequency penalties. */
    public Sampling repeatPenalty(float penalty, int lastN) {
        return penalties(new Penalties(penalty, lastN, penalties.presence(), penalties.frequency()));
    }

    public Sampling presencePenalty(float p) {
        return penalties(new Penalties(penalties.repeat(), penalties.lastN(), p, penalties.frequency()));
    }

    public Sampling frequencyPenalty(float p) {
        return penalties(new Penalties(penalties.repeat(), penalties.lastN(), penalties.presence(), p));
    }

    public Sampling seed(long s) { return new Sampling(temperature, topK, topP, minP, penalties, s, maxTokens, stopAtEos, stopTokens, logprobs); }

    public Sampling withTemperature(float t) { return new Sampling(t, topK, topP, minP, penalties, seed, maxTokens, stopAtEos, stopTokens, logprobs); }

    /** Each token carries its log-probability and the top most likely ids' ({@code top} 0: only its own; -1: none). */
    public Sampling logprobs(int top) { return new Sampling(temperature, topK, topP, minP, penalties, seed, maxTokens, stopAtEos, stopTokens, top); }

    /** Whether an EOS token ends generation (the references generate through it). */
    public Sampling stopAtEos(boolean stop) { return new Sampling(temperature, topK, topP, minP, penalties, seed, maxTokens, stop, stopTokens, logprobs); }

    public boolean isGreedy() { return temperature == 0f; }

    /** The settings that choose tokens, for reports: "greedy" or "temperature 0.8, top-k 40, ..., seed 42". */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        if (isGreedy()) {
            sb.append("greedy");
        } else {
            sb.append("temperature ").append(temperature);
            if (topK > 0) sb.append(", top-k ").append(topK);
            if (topP < 1) sb.append(", top-p ").append(topP);
            if (minP > 0) sb.append(", min-p ").append(minP);
        }
        if (!penalties.isNone()) {
            if (penalties.repeat() != 1f) sb.append(", repeat penalty ").append(penalties.repeat());
            if (penalties.presence() != 0f) sb.append(", presence penalty ").append(penalties.presence());
            if (penalties.frequency() != 0f) sb.append(", frequency penalty ").append(penalties.frequency());
            sb.append(" over the last ").append(penalties.lastN() < 0 ? "all" : Integer.toString(penalties.lastN())).append(" tokens");
        }
        if (!isGreedy()) {
            sb.append(", seed ").append(seed);
        }
        return sb.toString();
    }
}
