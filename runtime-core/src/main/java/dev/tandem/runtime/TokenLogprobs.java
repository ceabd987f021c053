package dev.tandem.runtime;

import dev.tandem.runtime.generate.Sampling;

import java.util.Arrays;

/**
 * Log-probabilities at one generated position, from the log-softmax of the model's raw logits
 * (before temperature, top-k and top-p, as OpenAI's and vLLM's {@code logprobs} report them).
 * Deterministic: the normaliser is summed in double precision in vocabulary order, and ties among
 * the most likely ids go to the lower id.
 *
 * @param logprob     the chosen token's log-probability
 * @param topIds      the most likely ids, most likely first (as many as {@link Sampling#logprobs()} asked for)
 * @param topLogprobs their log-probabilities, in the same order
 */
public record TokenLogprobs(float logprob, int[] topIds, float[] topLogprobs) {

    public TokenLogprobs {
        if (topIds.length != topLogprobs.length) {
            throw new IllegalArgumentException(topIds.length + " top ids but " + topLogprobs.length + " log-probabilities");
        }
        topIds = topIds.clone();
        topLogprobs = topLogprobs.clone();
    }

    @Override
    public int[] topIds() { return topIds.clone(); }

    @Override
    public float[] topLogprobs() { return topLogprobs.clone(); }

    /** The log-probabilities of logits[0, vocab): chosen's, and the top most likely ids' (top may be 0). */
    public static TokenLogprobs of(float[] logits, int vocab, int chosen, int top) {
        if (chosen < 0 || chosen >= vocab) {
            throw new IllegalArgumentException("chosen id " + chosen + " is outside the vocabulary [0, " + vocab + ")");
        }
        double logZ = logNormaliser(logits, vocab);
        int k = Math.min(Math.max(top, 0), vocab);
        int[] ids = new int[k];
        float[] lps = new float[k];
        int n = 0;
        // Insertion into a sorted prefix: k is small (OpenAI allows 20), the scan is one pass.
        for (int i = 0; i < vocab && k > 0; i++) {
            float x = logits[i];
            if (n == k && !(x > logits[ids[k - 1]])) {
                continue;
            }
            int at = n < k ? n++ : k - 1;
            while (at > 0 && x > logits[ids[at - 1]]) {
                ids[at] = ids[at - 1];
                at--;
            }
            ids[at] = i;
        }
        for (int i = 0; i < k; i++) {
            lps[i] = (float) (logits[ids[i]] - logZ);
        }
        return new TokenLogprobs((float) (logits[chosen] - logZ), ids, lps);
    }

    /** log(sum(exp(logits))), shifted by the maximum so that no term overflows. */
    private static double logNormaliser(float[] logits, int vocab) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[i]);
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += Math.exp((double) logits[i] - max);
        }
        return max + Math.log(sum);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TokenLogprobs t && Float.compare(logprob, t.logprob) == 0
                && Arrays.equals(topIds, t.topIds) && Arrays.equals(topLogprobs, t.topLogprobs);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Float.hashCode(logprob) + Arrays.hashCode(topIds)) + Arrays.hashCode(topLogprobs);
    }

    @Override
    public String toString() {
        return "TokenLogprobs[logprob=" + logprob + ", topIds=" + Arrays.toString(topIds)
                + ", topLogprobs=" + Arrays.toString(topLogprobs) + "]";
    }
}
