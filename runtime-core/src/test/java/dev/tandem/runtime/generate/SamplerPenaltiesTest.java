package dev.tandem.runtime.generate;

import dev.tandem.runtime.generate.Sampling.Penalties;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Penalties and min-p held against a direct computation on random logits and histories: the
 * penalised logits bit for bit, greedy's choice step by step as its own choices enter the window,
 * and the distribution a draw comes from (support and probabilities).
 */
class SamplerPenaltiesTest {
    private final Random random = new Random();
    // Seeds: fixed per repetition where a case compares exactly, so each failure names a case that reproduces.

    private static float[] logits(Random r, int n) {
        float[] l = new float[n];
        for (int i = 0; i < n; i++) {
            l[i] = (float) (r.nextGaussian() * 3);
        }
        return l;
    }

    /** The penalties by their definition: counts over the window, then the CTRL rule, then OpenAI's. */
    private static float[] penalizedDirectly(float[] logits, List<Integer> history, Penalties p) {
        float[] out = logits.clone();
        if (p.lastN() == 0) {
            return out;
        }
        int from = p.lastN() < 0 ? 0 : Math.max(0, history.size() - p.lastN());
        int[] count = new int[logits.length];
        for (int id : history.subList(from, history.size())) {
            count[id]++;
        }
        for (int id = 0; id < out.length; id++) {
            if (count[id] > 0) {
                float v = out[id];
                if (p.repeat() != 1f) {
                    v = v > 0 ? v / p.repeat() : v * p.repeat();
                }
                out[id] = v - (count[id] * p.frequency() + (p.presence()));
            }
        }
        return out;
    }

    private static Penalties randomPenalties(Random r) {
        int[] windows = {-1, 0, 1, 3, 16, 64};
        return new Penalties(0.5f + r.nextFloat() * 1.5f, windows[r.nextInt(windows.length)],
                r.nextFloat() * 3 - 1, r.nextFloat() * 3 - 1);
    }

    @RepeatedTest(20)
    void penalisedLogitsAreTheDirectComputationBitForBit(RepetitionInfo repetition) {
        long seed = 1000 + repetition.getCurrentRepetition();
        Random r = new Random(seed);
        int n = 20 + r.nextInt(300);
        float[] l = logits(r, n);
        List<Integer> history = new ArrayList<>();
        for (int i = r.nextInt(100); i > 0; i--) {
            history.add(r.nextInt(Math.min(n, 25))); // few distinct ids: counts above 1
        }
        Penalties p = randomPenalties(r);
        Sampler s = new Sampler(Sampling.greedy().penalties(p), history.stream().mapToInt(Integer::intValue).toArray());
        float[] before = l.clone();
        float[] got = Arrays.copyOf(s.penalize(l, n), n);
        assertArrayEquals(penalizedDirectly(l, history, p), got, "seed " + seed + ", " + p);
        assertArrayEquals(before, l, "the caller's logits are left alone");
    }

    @RepeatedTest(10)
    void greedyWithPenaltiesPicksTheDirectArgmaxAsItsChoicesEnterTheWindow(RepetitionInfo repetition) {
        long seed = 2000 + repetition.getCurrentRepetition();
        Random r = new Random(seed);
        int n = 50 + r.nextInt(200);
        Penalties p = new Penalties(1.1f + r.nextFloat(), r.nextBoolean() ? -1 : 8, r.nextFloat(), r.nextFloat());
        int[] prompt = {r.nextInt(n), r.nextInt(n), r.nextInt(n)};
        Sampler s = new Sampler(Sampling.greedy().penalties(p), prompt);
        List<Integer> history = new ArrayList<>(Arrays.stream(prompt).boxed().toList());
        float[] l = logits(r, n); // the same logits every step: only the penalties move the choice
        List<Integer> chosen = new ArrayList<>();
        for (int step = 0; step < 30; step++) {
            float[] expected = penalizedDirectly(l, history, p);
            int best = 0;
            for (int i = 1; i < n; i++) {
                if (expected[i] > expected[best]) {
                    best = i;
                }
            }
            int got = s.sample(l, n);
            assertEquals(best, got, "step " + step + ", seed " + seed + ", " + p);
            history.add(got);
            chosen.add(got);
        }
        assertTrue(chosen.stream().distinct().count() > 1, "penalties moved greedy off its first choice: " + chosen);
    }

    @Test
    void withoutPenaltiesGreedyStaysOnTheArgmax() {
        float[] l = logits(new Random(3), 100);
        Sampler s = new Sampler(Sampling.greedy(), new int[] {1, 2, 3});
        int first = s.sample(l, l.length);
        for (int i = 0; i < 10; i++) {
            assertEquals(first, s.sample(l, l.length), "no penalty: the same logits give the same id");
        }
    }

    /** softmax(l / t), then top-k, top-p and min-p by their definitions, renormalised; in doubles. */
    private static double[] filteredDirectly(float[] l, float t, int topK, float topP, float minP) {
        int n = l.length;
        double max = Double.NEGATIVE_INFINITY;
        for (float v : l) {
            max = Math.max(max, v / (double) t);
        }
        double[] p = new double[n];
        double z = 0;
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp(l[i] / (double) t - max);
            z += p[i];
        }
        for (int i = 0; i < n; i++) {
            p[i] /= z;
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> p[a] != p[b] ? Double.compare(p[b], p[a]) : Integer.compare(a, b));
        int keep = topK > 0 ? Math.min(topK, n) : n;
        double mass = 0;
        for (int i = 0; i < keep; i++) {
            mass += p[order[i]];
            if (mass >= topP) {
                keep = i + 1;
                break;
            }
        }
        double pmax = p[order[0]];
        while (keep > 1 && p[order[keep - 1]] < minP * pmax) {
            keep--;
        }
        double[] out = new double[n];
        double kept = 0;
        for (int i = 0; i < keep; i++) {
            kept += p[order[i]];
        }
        for (int i = 0; i < keep; i++) {
            out[order[i]] = p[order[i]] / kept;
        }
        return out;
    }

    @RepeatedTest(20)
    void minPWithTopKAndTopPKeepsExactlyTheDirectSupport(RepetitionInfo repetition) {
        // Fixed seeds: a random case could put a token within float rounding of a threshold.
        long seed = 3000 + repetition.getCurrentRepetition();
        Random r = new Random(seed);
        int n = 10 + r.nextInt(500);
        float[] l = logits(r, n);
        float t = 0.3f + r.nextFloat() * 1.5f;
        int topK = r.nextBoolean() ? 0 : 1 + r.nextInt(60);
        float topP = r.nextBoolean() ? 1f : 0.5f + r.nextFloat() * 0.5f;
        float minP = 0.01f + r.nextFloat() * 0.3f;
        Sampling sampling = Sampling.temperature(t, seed).topK(topK).topP(topP).minP(minP);
        float[] got = new Sampler(sampling).distribution(l, n);
        double[] expected = filteredDirectly(l, t, topK, topP, minP);
        String what = "seed " + seed + ": t " + t + ", top-k " + topK + ", top-p " + topP + ", min-p " + minP;
        for (int i = 0; i < n; i++) {
            assertEquals(expected[i], got[i], 1e-5, "token " + i + ", " + what);
            assertEquals(expected[i] > 0, got[i] > 0, "token " + i + " in the support, " + what);
        }
    }

    @Test
    void drawsComeOnlyFromTheMinPSupportAndFollowItsProbabilities() {
        float[] l = {3f, 2.9f, 1f, 0.5f, 2.5f, -1f, 0f, 2.95f};
        Sampling sampling = Sampling.temperature(1f, random.nextLong()).minP(0.2f);
        double[] expected = filteredDirectly(l, 1f, 0, 1f, 0.2f);
        int[] counts = new int[l.length];
        int draws = 100_000;
        Sampler s = new Sampler(sampling);
        for (int i = 0; i < draws; i++) {
            counts[s.sample(l, l.length)]++;
        }
        for (int i = 0; i < l.length; i++) {
            if (expected[i] == 0) {
                assertEquals(0, counts[i], "token " + i + " is below min-p");
            } else {
                double observed = counts[i] / (double) draws, sd = Math.sqrt(expected[i] * (1 - expected[i]) / draws);
                assertTrue(Math.abs(observed - expected[i]) < 6 * sd, "token " + i + ": " + observed + " vs " + expected[i]);
            }
        }
        assertTrue(Arrays.stream(expected).filter(v -> v == 0).count() >= 3, "the case filters something");
    }

    @Test
    void sameSeedAndPromptGiveTheSameSampledIdsWithPenalties() {
        Random r = new Random(11);
        float[][] steps = new float[40][];
        for (int i = 0; i < steps.length; i++) {
            steps[i] = logits(r, 300);
        }
        Sampling sampling = Sampling.defaults().repeatPenalty(1.3f, 16).presencePenalty(0.5f).frequencyPenalty(0.2f);
        int[] prompt = {5, 6, 7, 5};
        Sampler a = new Sampler(sampling, prompt), b = new Sampler(sampling, prompt), other = new Sampler(sampling.seed(7), prompt);
        int[] ia = new int[steps.length], ib = new int[steps.length], io = new int[steps.length];
        for (int i = 0; i < steps.length; i++) {
            ia[i] = a.sample(steps[i], 300);
            ib[i] = b.sample(steps[i], 300);
            io[i] = other.sample(steps[i], 300);
        }
        assertArrayEquals(ia, ib);
        assertNotEquals(Arrays.toString(ia), Arrays.toString(io), "another seed draws otherwise");
    }

    @Test
    void invalidSettingsAreRefusedNamingTheSetting() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Sampling.greedy().minP(1.5f)).getMessage().contains("min-p"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Sampling.greedy().minP(-0.1f)).getMessage().contains("min-p"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Sampling.greedy().repeatPenalty(0f, 64)).getMessage().contains("repeat penalty"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Sampling.greedy().repeatPenalty(1.1f, -2)).getMessage().contains("repeat-last-n"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Sampling.greedy().presencePenalty(Float.NaN)).getMessage().contains("presence"));
    }

    @Test
    void theDefaultsAreLlamaCppsWithAFixedSeed() {
        Sampling d = Sampling.defaults();
        assertEquals(0.8f, d.temperature());
        assertEquals(40, d.topK());
        assertEquals(0.95f, d.topP());
        assertEquals(0.05f, d.minP());
        assertTrue(d.penalties().isNone());
        assertEquals(Sampling.DEFAULT_SEED, d.seed());
    }
}
