package dev.tandem.loadgen;

import dev.tandem.runtime.error.TandemException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PercentilesTest {
    @Test
    void interpolatesLinearlyBetweenClosestRanksAsNumPyDoes() {
        double[] v = {4, 1, 3, 2};  // order must not matter
        // numpy.percentile([1,2,3,4], [0, 50, 90, 99, 100]) = 1, 2.5, 3.7, 3.97, 4
        assertEquals(1, Percentiles.of(v, 0), 1e-12);
        assertEquals(2.5, Percentiles.of(v, 50), 1e-12);
        assertEquals(3.7, Percentiles.of(v, 90), 1e-12);
        assertEquals(3.97, Percentiles.of(v, 99), 1e-12);
        assertEquals(4, Percentiles.of(v, 100), 1e-12);
        assertArrayEquals(new double[] {4, 1, 3, 2}, v, "the input is not sorted in place");
    }

    @Test
    void summaryOfOneValueIsThatValueAndOfNoneIsEmpty() {
        Percentiles.Summary one = Percentiles.summary(new double[] {7.5});
        assertEquals(new Percentiles.Summary(7.5, 7.5, 7.5), one);
        Percentiles.Summary none = Percentiles.summary(new double[0]);
        assertNull(none.p50());
        assertNull(none.p99());
    }

    @Test
    void summaryOfOneToHundred() {
        double[] v = new double[100];
        for (int i = 0; i < v.length; i++) {
            v[i] = i + 1;
        }
        // rank h = 99·p/100: p50 -> 49.5 -> 50.5, p90 -> 89.1 -> 90.1, p99 -> 98.01 -> 99.01
        Percentiles.Summary s = Percentiles.summary(v);
        assertEquals(50.5, s.p50(), 1e-9);
        assertEquals(90.1, s.p90(), 1e-9);
        assertEquals(99.01, s.p99(), 1e-9);
    }

    @Test
    void refusesBadPercentilesAndNoValues() {
        assertThrows(IllegalArgumentException.class, () -> Percentiles.of(new double[] {1}, 101));
        assertThrows(IllegalArgumentException.class, () -> Percentiles.of(new double[] {1}, Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> Percentiles.of(new double[0], 50));
    }

    @Test
    void levelReportDerivesRatesFromTimings() {
        // Two requests of 11 tokens: first token after 10 ms, then 10 tokens in 50 ms (5 ms each) and 100 ms (10 ms each).
        long ms = 1_000_000;
        RequestTiming a = new RequestTiming(0, 10 * ms, 60 * ms, 4, 11);
        RequestTiming b = new RequestTiming(0, 20 * ms, 120 * ms, 4, 11);
        LevelReport r = LevelReport.of(2, null, java.util.Arrays.asList(a, b, null), 1, "IOException: HTTP 429", 200 * ms, 50);
        assertEquals(3, r.requests());
        assertEquals(1, r.failed());
        assertEquals(22, r.outputTokens());
        assertEquals(15, r.ttftMs().p50(), 1e-9);
        assertEquals(7.5, r.tpotMs().p50(), 1e-9);
        assertEquals((200.0 + 100.0) / 2, r.tokensPerSPerUser(), 1e-9, "mean of 1/TPOT per request");
        assertEquals(22 / 0.2, r.tokensPerS(), 1e-9);
        assertEquals(50 * 0.2 / 22, r.joulesPerToken(), 1e-12);
        assertEquals("IOException: HTTP 429", r.firstError());
    }

    @Test
    void lengthSpecsParseAndDrawWithinTheirRange() {
        assertEquals(new LengthSpec(16, 16), LengthSpec.parse("16", "--prompt-len"));
        LengthSpec range = LengthSpec.parse("4:9", "--prompt-len");
        SplittableRandom random = new SplittableRandom(3);
        boolean sawMin = false;
        boolean sawMax = false;
        for (int i = 0; i < 500; i++) {
            int n = range.draw(random);
            assertTrue(n >= 4 && n <= 9, "drawn " + n);
            sawMin |= n == 4;
            sawMax |= n == 9;
        }
        assertTrue(sawMin && sawMax, "both ends are inclusive");
        assertEquals(7, range.mean());
        for (String bad : List.of("0", "9:4", "x", "1:2:3", "", "-3")) {
            TandemException e = assertThrows(TandemException.class, () -> LengthSpec.parse(bad, "--output-len"));
            assertTrue(e.getMessage().startsWith("--output-len '" + bad + "'"), e.getMessage());
        }
    }

    @Test
    void requestsAreDrawnFromTheSeed() {
        List<Sweep.Request> a = Sweep.draw(5, new LengthSpec(3, 8), new LengthSpec(2, 4), 32, 11);
        List<Sweep.Request> b = Sweep.draw(5, new LengthSpec(3, 8), new LengthSpec(2, 4), 32, 11);
        List<Sweep.Request> c = Sweep.draw(5, new LengthSpec(3, 8), new LengthSpec(2, 4), 32, 12);
        for (int i = 0; i < 5; i++) {
            assertArrayEquals(a.get(i).promptIds(), b.get(i).promptIds());
            assertEquals(a.get(i).outputTokens(), b.get(i).outputTokens());
            for (int id : a.get(i).promptIds()) {
                assertTrue(id >= 1 && id < 32, "id " + id);
            }
        }
        assertNotEquals(a.stream().map(r -> java.util.Arrays.toString(r.promptIds())).toList(),
                c.stream().map(r -> java.util.Arrays.toString(r.promptIds())).toList());
    }
}
