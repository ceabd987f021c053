package dev.tandem.runtime;

import dev.tandem.conformance.SharedData;
import dev.tandem.runtime.error.ContextLengthException;
import dev.tandem.runtime.generate.Sampling;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SessionTest {

    @Test
    void streamsEachTokenAndStopsAtAStopToken() {
        // The f16 reference's greedy ids reach BOS (1) at index 29 for prompt [1, 77, 300].
        JsonNode c = SharedData.reference("stories260K-f16.gguf.json").get("cases").get(1);
        int[] prompt = SharedData.ints(c.get("prompt_ids"));
        int[] greedy = SharedData.ints(c.get("greedy_ids"));
        int stopAt = 0;
        while (greedy[stopAt] != 1) {
            stopAt++;
        }
        try (Model m = Model.load(SharedData.model("stories260K-f16.gguf")); Session s = Tandem.open(m)) {
            List<Token> streamed = new ArrayList<>();
            GenerationResult r = s.generate(prompt, Sampling.greedy().maxTokens(100).stopTokens(1), streamed::add);
            assertEquals(StopReason.EOS, r.stopReason());
            assertArrayEquals(Arrays.copyOf(greedy, stopAt + 1), r.generatedIds());
            assertEquals(r.generatedIds().length, streamed.size());
            for (int i = 0; i < streamed.size(); i++) {
                assertEquals(r.generatedIds()[i], streamed.get(i).id());
                assertEquals(prompt.length + i, streamed.get(i).position());
            }
        }
    }

    @Test
    void stopsWhenTheContextIsFull() {
        try (Model m = Model.load(SharedData.model("stories260K.bin")); Session s = Tandem.open(m, 10)) {
            GenerationResult r = s.generate(new int[] {1, 5, 6}, Sampling.greedy().maxTokens(100), null);
            assertEquals(StopReason.CONTEXT_FULL, r.stopReason());
            // 7 positions after the prompt are fed back, and the token chosen last needs none.
            assertEquals(8, r.generatedIds().length);
        }
    }

    @Test
    void promptLongerThanTheContextIsATypedError() {
        try (Model m = Model.synthetic(); Session s = Tandem.open(m, 8)) {
            ContextLengthException e = assertThrows(ContextLengthException.class,
                    () -> s.generate(new int[9], Sampling.greedy(), null));
            assertTrue(e.getMessage().contains("9 tokens") && e.getMessage().contains("8"), e.getMessage());
        }
    }

    @Test
    void textPromptsStreamText() {
        try (Model m = Model.synthetic(); Session s = Tandem.open(m)) {
            StringBuilder text = new StringBuilder();
            GenerationResult r = s.generate("Hello", Sampling.greedy().maxTokens(20), t -> text.append(t.text()));
            assertEquals(1, r.promptIds()[0], "BOS first");
            assertEquals(1 + 1 + "Hello".length(), r.promptIds().length, "BOS, the dummy-prefix space, one byte each");
            assertEquals(20, r.generatedIds().length);
            assertEquals(m.tokenizer().orElseThrow().decode(r.generatedIds()), text.toString());
        }
    }
}
