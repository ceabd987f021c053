package dev.tandem.runtime;

import dev.tandem.runtime.generate.Sampling;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GenerationResultTest {
    @Test
    void printsCountsStopReasonAndTimingsOnOneLine() {
        // 4 prompt ids in 10 ms; 6 generated ids, the 5 after the first in 50 ms.
        GenerationResult r = new GenerationResult(new int[] {1, 2, 3, 4}, new int[] {5, 6, 7, 8, 9, 10}, new float[259],
                StopReason.MAX_TOKENS, 10_000_000, 50_000_000);
        assertEquals("GenerationResult[prompt 4 ids, generated 6 ids, stop MAX_TOKENS, TTFT 10.00 ms, prefill 400.0 tok/s, decode 100.0 tok/s]",
                r.toString());
    }

    @Test
    void aRealGenerationPrintsWithoutItsLogits() {
        try (Model m = Model.synthetic(); Session s = Tandem.open(m)) {
            GenerationResult r = s.generate(new int[] {1, 72}, Sampling.greedy().maxTokens(3).stopAtEos(false), null);
            String text = r.toString();
            assertTrue(text.startsWith("GenerationResult[prompt 2 ids, generated 3 ids, stop MAX_TOKENS, TTFT "), text);
            assertFalse(text.contains("[F@") || text.contains("[I@"), "no array identities: " + text);
            assertEquals(1, text.lines().count());
        }
    }
}
