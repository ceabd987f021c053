package dev.tandem.runtime.model;

import dev.tandem.kernels.Ops;

/**
 * Top-k softmax routing, the one definition every executor of a mixture uses: the reference forward
 * pass and the device SPI's default block both call {@link #route}, so they choose the same experts
 * with the same weights, and both sum the chosen experts' outputs in ascending expert order.
 */
public final class MoeRouter {
    /** The floor llama.cpp clamps a renormalisation's sum to (the smallest normal f16), kept for agreement. */
    private static final float MIN_WEIGHT_SUM = 6.103515625e-5f;

    private final MoeConfig moe;
    private final float[] probs;

    public MoeRouter(MoeConfig moe) {
        this.moe = moe;
        this.probs = new float[moe.experts()];
    }

    /**
     * Chooses expertsUsed experts for one token from its router logits (experts values at
     * logits[off..]): softmax over all experts, the most probable k (ties to the lower id), renormalised
     * when the architecture says so. Writes them in ascending expert id to ids[0..k) and their weights
     * to weights[0..k).
     */
    public void route(float[] logits, int off, int[] ids, float[] weights) {
        int n = moe.experts(), k = moe.expertsUsed();
        System.arraycopy(logits, off, probs, 0, n);
        Ops.softmax(probs, 0, n);
        boolean[] taken = new boolean[n];
        for (int j = 0; j < k; j++) {
            int best = -1;
            for (int e = 0; e < n; e++) {
                if (!taken[e] && (best < 0 || probs[e] > probs[best])) {
                    best = e;
                }
            }
            taken[best] = true;
        }
        float sum = 0;
        for (int e = 0, j = 0; e < n; e++) {
            if (taken[e]) {
                ids[j] = e;
                weights[j++] = probs[e];
                sum += probs[e];
            }
        }
        if (moe.normalizeWeights()) {
            float s = Math.max(sum, MIN_WEIGHT_SUM);
            for (int j = 0; j < k; j++) {
                weights[j] /= s;
            }
        }
    }

    /** The shared expert's gate: sigmoid of its gate projection. */
    public static float sharedGate(float projection) {
        return (float) (1.0 / (1.0 + Math.exp(-projection)));
    }

    /** acc[accOff + i] += weight * y[yOff + i] for i in [0, n): how each expert's output joins the sum. */
    public static void accumulate(float[] acc, int accOff, float[] y, int yOff, int n, float weight) {
        for (int i = 0; i < n; i++) {
            acc[accOff + i] += weight * y[yOff + i];
        }
    }
}
