package dev.tandem.runtime.generate;

import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SamplerTest {
    private final Random random = new Random();

    private float[] logits(int n, long seed) {
        Random r = new Random(seed);
        float[] l = new float[n];
        for (int i = 0; i < n; i++) {
            l[i] = (float) (r.nextGaussian() * 3);
        }
        return l;
    }

    private static int argmax(float[] l) {
        int best = 0;
        for (int i = 1; i < l.length; i++) {
            if (l[i] > l[best]) {
                best = i;
            }
        }
        return best;
    }

    @RepeatedTest(5)
    void greedyAndDegenerateFiltersPickTheArgmax() {
        long seed = random.nextLong();
        float[] l = logits(1001, seed);
        int best = argmax(l);
        assertEquals(best, new Sampler(Sampling.greedy()).sample(l, l.length), "seed " + seed);
        assertEquals(best, new Sampler(Sampling.temperature(1f, seed).topK(1)).sample(l, l.length), "top-k 1, seed " + seed);
        assertEquals(best, new Sampler(Sampling.temperature(1f, seed).topP(1e-6f)).sample(l, l.length), "tiny top-p, seed " + seed);
    }

    @Test
    void sameSeedSameDraws() {
        float[] l = logits(500, 1);
        Sampler a = new Sampler(Sampling.temperature(0.9f, 42).topP(0.9f));
        Sampler b = new Sampler(Sampling.temperature(0.9f, 42).topP(0.9f));
        for (int i = 0; i < 200; i++) {
            assertEquals(a.sample(l, l.length), b.sample(l, l.length));
        }
    }

    @Test
    void temperatureSamplingFollowsTheSoftmax() {
        float[] l = {1f, 2f, 0.5f, -1f, 3f};
        double[] p = new double[l.length];
        double z = 0;
        for (int i = 0; i < l.length; i++) {
            p[i] = Math.exp(l[i]);
            z += p[i];
        }
        int[] counts = new int[l.length];
        int n = 200_000;
        Sampler s = new Sampler(Sampling.temperature(1f, random.nextLong()));
        for (int i = 0; i < n; i++) {
            counts[s.sample(l, l.length)]++;
        }
        for (int i = 0; i < l.length; i++) {
            double expected = p[i] / z, observed = counts[i] / (double) n;
            // 6 standard deviations of a binomial proportion: a real bias fails, chance does not.
            double sd = Math.sqrt(expected * (1 - expected) / n);
            assertTrue(Math.abs(observed - expected) < 6 * sd + 1e-9, "token " + i + ": " + observed + " vs " + expected);
        }
    }

    @Test
    void topKAndTopPRestrictTheSupport() {
        float[] l = {5f, 4.9f, 4.8f, 0f, -1f, 4.7f, -3f};
        Sampler k = new Sampler(Sampling.temperature(2f, random.nextLong()).topK(3));
        Sampler p = new Sampler(Sampling.temperature(1f, random.nextLong()).topP(0.5f));
        for (int i = 0; i < 5000; i++) {
            int t = k.sample(l, l.length);
            assertTrue(t == 0 || t == 1 || t == 2, "top-3 drew " + t);
            int u = p.sample(l, l.length);
            assertTrue(u == 0 || u == 1, "top-p 0.5 drew " + u); // 0 and 1 hold about 53% of the mass
        }
    }

    @Test
    void invalidSettingsNameTheParameter() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Sampling.greedy().topP(0f)).getMessage().contains("top-p"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Sampling.greedy().topK(-1)).getMessage().contains("top-k"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Sampling.greedy().withTemperature(Float.NaN)).getMessage().contains("temperature"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Sampling.greedy().maxTokens(-1)).getMessage().contains("max tokens"));
    }
}
