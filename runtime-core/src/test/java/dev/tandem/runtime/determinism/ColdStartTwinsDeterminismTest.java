package dev.tandem.runtime.determinism;

import dev.tandem.conformance.SharedData;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The kernels' cold-start twins (scalar code run for the first calls of a fresh JVM, see the kernels'
 * ColdStart) change no result: whole generations with the twins off (the vector forms from the first
 * call), with the twins for every call, and as users run them (the twins first, the vector forms from
 * some call in the middle of a generation on) give the same logits bits and ids, for the embedded
 * model and stories260K in F32, F16, Q8_0 and Q4_0, at this machine's vector width and at 128 bits.
 */
class ColdStartTwinsDeterminismTest {
    private static final int STEPS = 12;
    private static final String ALWAYS = "-Dtandem.coldWork=" + Integer.MAX_VALUE;
    private static final String NEVER = "-Dtandem.coldWork=0";

    @Test
    void twinsOffTwinsThroughoutAndTheDefaultSwitchGiveTheSameBits() throws Exception {
        List<String> models = List.of("embedded",
                SharedData.model("stories260K-f32.gguf").toString(),
                SharedData.model("stories260K-f16.gguf").toString(),
                SharedData.model("stories260K-q8_0.gguf").toString(),
                SharedData.model("stories260K-q4_0.gguf").toString());

        List<String> vector = FreshJvm.fingerprints(FreshJvm.fork(List.of(NEVER), 1, STEPS, models));
        assertEquals(models.size(), vector.size());
        assertEquals(vector, FreshJvm.fingerprints(FreshJvm.fork(List.of(ALWAYS), 1, STEPS, models)),
                "twins for every call vs none");
        // The default: the 4-token prompt's matmuls charge 4 each and the decode calls 1, a few dozen a
        // step on these models, so the switches fall inside the first generation.
        List<String> defaults = FreshJvm.fingerprints(FreshJvm.fork(List.of(), 2, STEPS, models));
        assertEquals(vector, defaults.subList(0, models.size()), "default (twins, then vector) vs none");
        assertEquals(vector, defaults.subList(models.size(), 2 * models.size()), "default, second generation");

        List<String> narrow = FreshJvm.fingerprints(FreshJvm.fork(List.of(NEVER, "-Dtandem.vectorBits=128"), 1, STEPS, models));
        assertEquals(narrow, FreshJvm.fingerprints(FreshJvm.fork(List.of(ALWAYS, "-Dtandem.vectorBits=128"), 1, STEPS, models)),
                "128-bit vectors: twins for every call vs none");
    }
}
