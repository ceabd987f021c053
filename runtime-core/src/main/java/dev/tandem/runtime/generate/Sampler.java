package dev.tandem.runtime.generate;

import dev.tandem.kernels.Ops;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from logits. First the penalties ({@link Sampling.Penalties}) on the raw
 * logits of tokens seen in the window (the prompt, then every token this sampler chose); then greedy
 * is argmax; otherwise temperature scaling, softmax, then top-k, top-p (nucleus) and min-p filtering,
 * then one draw from a seeded generator, so a seed reproduces a run exactly. Filters act on the
 * temperature-scaled probabilities (as Hugging Face's do; llama.cpp filters before its temperature).
 * Every step is elementwise or a fixed-order loop, so the same logits and history give the same id.
 */
public final class Sampler {
    private final Sampling sampling;
    private final SplittableRandom random;
    private int[] history = new int[16];
    private int historyLength;
    private float[] penalized = new float[0];
    private int[] counts = new int[0];
    private int[] seen = new int[0];
    private float[] probs = new float[0];
    private int[] order = new int[0];
    private long[] keys = new long[0];

    /** A sampler whose penalty window starts empty. */
    public Sampler(Sampling sampling) {
        this(sampling, new int[0]);
    }

    /** A sampler whose penalty window starts with the prompt (as llama.cpp's does). */
    public Sampler(Sampling sampling, int[] prompt) {
        this.sampling = sampling;
        this.random = new SplittableRandom(sampling.seed());
        for (int id : prompt) {
            remember(id);
        }
    }

    /** Chooses a token from logits[0, n) and adds it to the penalty window. Does not modify logits. */
    public int sample(float[] logits, int n) {
        float[] l = penalize(logits, n);
        int id;
        if (sampling.isGreedy()) {
            id = Ops.argmax(l, 0, n);
        } else {
            int cut = candidates(l, n);
            id = cut < 0 ? draw(probs, null, n, 1f) : draw(probs, order, cut, keptMass(cut));
        }
        remember(id);
        return id;
    }

    /**
     * The distribution {@link #sample} would draw the next token from, as probabilities over [0, n)
     * (0 for filtered tokens; one-hot on the argmax when greedy). Changes neither the window nor the
     * generator: what tests hold against a direct computation.
     */
    public float[] distribution(float[] logits, int n) {
        float[] l = penalize(logits, n);
        float[] out = new float[n];
        if (sampling.isGreedy()) {
            out[Ops.argmax(l, 0, n)] = 1f;
            return out;
        }
        int cut = candidates(l, n);
        if (cut < 0) {
            System.arraycopy(probs, 0, out, 0, n);
            return out;
        }
        float total = keptMass(cut);
        for (int i = 0; i < cut; i++) {
            out[order[i]] = probs[order[i]] / total;
        }
        return out;
    }

    /** The logits with the penalties applied: logits itself when none apply, else a reused copy. */
    float[] penalize(float[] logits, int n) {
        Sampling.Penalties p = sampling.penalties();
        if (p.isNone() || historyLength == 0) {
            return logits;
        }
        if (penalized.length < n) {
            penalized = new float[n];
            counts = new int[n];
            seen = new int[n];
        }
        System.arraycopy(logits, 0, penalized, 0, n);
        int from = p.lastN() < 0 ? 0 : Math.max(0, historyLength - p.lastN());
        int distinct = 0;
        for (int i = from; i < historyLength; i++) {
            int id = history[i];
            if (id >= 0 && id < n && counts[id]++ == 0) {
                seen[distinct++] = id;
            }
        }
        for (int j = 0; j < distinct; j++) {
            int id = seen[j];
            float v = penalized[id];
            if (p.repeat() != 1f) {
                v = v > 0 ? v / p.repeat() : v * p.repeat();
            }
            penalized[id] = v - (counts[id] * p.frequency() + p.presence());
            counts[id] = 0;
        }
        return penalized;
    }

    /**
     * Fills probs with the temperature-scaled softmax of l and, when a filter is on, order[0, cut)
     * with the kept ids by descending probability; returns cut, or -1 when every token is kept.
     */
    private int candidates(float[] l, int n) {
        if (probs.length < n) {
            probs = new float[n];
            order = new int[n];
            keys = new long[n];
        }
        float invT = 1f / sampling.temperature();
        for (int i = 0; i < n; i++) {
            probs[i] = l[i] * invT;
        }
        Ops.softmax(probs, 0, n);
        boolean filtered = sampling.topK() > 0 && sampling.topK() < n || sampling.topP() < 1f || sampling.minP() > 0f;
        if (!filtered) {
            return -1;
        }
        int candidates = sortCandidatesDescending(n);
        int kept = sampling.topK() > 0 ? Math.min(candidates, sampling.topK()) : candidates;
        double mass = 0;
        int cut = kept;
        for (int i = 0; i < kept; i++) {
            mass += probs[order[i]];
            if (mass >= sampling.topP()) {
                cut = i + 1;
                break;
            }
        }
        return cut;
    }

    private float keptMass(int cut) {
        double total = 0;
        for (int i = 0; i < cut; i++) {
            total += probs[order[i]];
        }
        return (float) total;
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
     * how many. Tokens below min-p times the likeliest are not candidates. Without top-k, tokens below
     * (1-topP)/(n-1) cannot be in the nucleus either (the rest of the vocabulary could not make up
     * the missing mass), so they are dropped before sorting: a 128K vocabulary usually leaves a few
     * hundred candidates.
     */
    private int sortCandidatesDescending(int n) {
        float nucleusFloor = sampling.topK() == 0 && n > 1 ? (1f - sampling.topP()) / (n - 1) : 0f;
        float floor = Math.max(nucleusFloor, sampling.minP() * max(probs, n));
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

    private static float max(float[] x, int n) {
        float m = x[0];
        for (int i = 1; i < n; i++) {
            m = Math.max(m, x[i]);
        }
        return m;
    }

    private void remember(int id) {
        if (historyLength == history.length) {
            history = Arrays.copyOf(history, history.length * 2);
        }
        history[historyLength++] = id;
    }
}
