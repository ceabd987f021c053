package dev.tandem.runtime.generate;

import dev.tandem.kernels.Ops;
import dev.tandem.runtime.Sampling;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from logits. Greedy is argmax; otherwise temperature scaling, softmax, then
 * top-k and top-p (nucleus) filtering, then one draw from a seeded generator, so a seed reproduces
 * a run exactly.
 */
public final class Sampler {
    private final Sampling sampling;
    private final SplittableRandom random;
    private float[] probs = new float[0];
    private int[] order = new int[0];
    private long[] keys = new long[0];

    public Sampler(Sampling sampling) {
        this.sampling = sampling;
        this.random = new SplittableRandom(sampling.seed());
    }

    /** Chooses a token from logits[0, n). Does not modify logits. */
    public int sample(float[] logits, int n) {
        if (sampling.isGreedy()) {
            return Ops.argmax(logits, 0, n);
        }
        if (probs.length < n) {
            probs = new float[n];
            order = new int[n];
            keys = new long[n];
        }
        float invT = 1f / sampling.temperature();
        for (int i = 0; i < n; i++) {
            probs[i] = logits[i] * invT;
        }
        Ops.softmax(probs, 0, n);

        int kept;
        boolean filtered = sampling.topK() > 0 && sampling.topK() < n || sampling.topP() < 1f;
        if (!filtered) {
            return draw(probs, null, n, 1f);
        }
        int candidates = sortCandidatesDescending(n);
        if (sampling.topK() > 0) {
            kept = Math.min(candidates, sampling.topK());
        } else {
            kept = candidates;
        }
        double mass = 0;
        int cut = kept;
        for (int i = 0; i < kept; i++) {
            mass += probs[order[i]];
            if (mass >= sampling.topP()) {
                cut = i + 1;
                break;
            }
        }
        double total = 0;
        for (int i = 0; i < cut; i++) {
            total += probs[order[i]];
        }
        return draw(probs, order, cut, (float) total);
    }

    private int draw(float[] p, int[] idx, int n, float total) {
        double r = random.nextDouble() * total;
        double cdf = 0;
        for (int i = 0; i < n; i++) {
            int id = idx == null ? i : idx[i];
            cdf += p[id];
            if (r < cdf) {
                return id;
            }
        }
        return idx == null ? n - 1 : idx[n - 1]; // rounding left r just past the last bucket
    }

    /**
     * Fills order[] with candidate ids by descending probability (ties: lower id first) and returns
     * how many. Without top-k, tokens below (1-topP)/(n-1) cannot be in the nucleus (the rest of the
     * vocabulary could not make up the missing mass), so they are dropped before sorting: a 128K
     * vocabulary usually leaves a few hundred candidates.
     */
    private int sortCandidatesDescending(int n) {
        float floor = sampling.topK() == 0 && n > 1 ? (1f - sampling.topP()) / (n - 1) : 0f;
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (probs[i] >= floor) {
                // Probabilities are >= 0, so their IEEE bits order like the values.
                keys[m++] = ((long) (Integer.MAX_VALUE - Float.floatToRawIntBits(probs[i])) << 32) | i;
            }
        }
        Arrays.sort(keys, 0, m);
        for (int i = 0; i < m; i++) {
            order[i] = (int) keys[i];
        }
        return m;
    }
}
