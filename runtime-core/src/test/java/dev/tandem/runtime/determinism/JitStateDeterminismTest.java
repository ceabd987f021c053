package dev.tandem.runtime.determinism;

import dev.tandem.conformance.SharedData;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Results do not depend on what the JIT has compiled. Fresh JVMs run the same generations tiered as
 * users run them (the first generations interpreted, later ones C2 code: the test checks that C2
 * compiled the kernel that used to differ before the last generation), C2 only from early on, C1
 * only, and fully interpreted; all give the same logits bit for bit and the same seeded-sampling and
 * greedy ids, for the embedded model and stories260K in F32, Q8_0 and Q4_0. (Before Exp replaced
 * lanewise(EXP) in siluMul, generations after C2 compiled it differed from the first ones.)
 */
class JitStateDeterminismTest {
    private static final int STEPS = 24;
    /** Tiered compilation reaches C2 for siluMul within the first four or so. */
    private static final int GENERATIONS = 12;
    private static final String KERNEL = "dev.tandem.kernels.Ops::siluMul";
    /** A -XX:+PrintCompilation line of a tier-4 (C2) compile: "time id flags 4 method ...". */
    private static final Pattern C2_TIER = Pattern.compile("^\\s*\\d+\\s+\\d+\\s+[%sbn! ]*\\s4\\s+" + Pattern.quote(KERNEL) + "\\b.*");

    @Test
    void everyCompilationModeAndEveryGenerationComputeTheSameBits() throws Exception {
        List<String> models = List.of("embedded",
                SharedData.model("stories260K-f32.gguf").toString(),
                SharedData.model("stories260K-q8_0.gguf").toString(),
                SharedData.model("stories260K-q4_0.gguf").toString());

        // -Xbatch: the thread waits for each compile, so when C2 takes over depends on invocation
        // counts, not on how busy the machine is.
        List<String> tieredOut = FreshJvm.fork(List.of("-Xbatch", "-XX:+PrintCompilation"), GENERATIONS, STEPS, models);
        List<String> tiered = FreshJvm.fingerprints(tieredOut);
        assertEquals(GENERATIONS * models.size(), tiered.size());
        List<String> first = tiered.subList(0, models.size());
        for (int i = 0; i < first.size(); i++) {
            assertTrue(first.get(i).startsWith(GenerationFingerprint.PREFIX + models.get(i) + " "), first.get(i));
            assertEquals(STEPS, first.get(i).split(" ").length - 2, first.get(i));
        }
        for (int i = models.size(); i < tiered.size(); i++) {
            assertEquals(first.get(i % models.size()), tiered.get(i), "generation " + i / models.size() + " vs the first");
        }
        int c2Line = indexOfMatch(tieredOut, C2_TIER);
        int lastGeneration = tieredOut.size();
        for (int seen = 0, i = 0; i < tieredOut.size(); i++) {  // the line starting the last generation
            if (FreshJvm.fingerprint(tieredOut.get(i)) != null && seen++ == tiered.size() - models.size()) {
                lastGeneration = i;
                break;
            }
        }
        assertTrue(c2Line >= 0 && c2Line < lastGeneration,
                "C2 must compile " + KERNEL + " before the last generation, or this test proves nothing");

        // C2 only, compiling after 100 invocations: C2 code from the first generation on.
        List<String> c2Out = FreshJvm.fork(List.of("-XX:-TieredCompilation", "-XX:CompileThreshold=100", "-Xbatch", "-XX:+PrintCompilation"),
                1, STEPS, models);
        assertTrue(c2Out.stream().anyMatch(l -> l.contains(KERNEL)), "C2 compiled " + KERNEL);
        assertEquals(first, FreshJvm.fingerprints(c2Out), "C2 only vs tiered");

        // C1 only: compiles the Vector API's Java fallbacks (what the interpreter runs), never its intrinsics.
        assertPrefixes(first, FreshJvm.fingerprints(FreshJvm.fork(List.of("-XX:TieredStopAtLevel=1"), 1, 6, models)), "C1 only");

        // Fully interpreted (-Xint runs the Vector API about 1000x slower: one small model, two steps).
        assertPrefixes(first.subList(1, 2), FreshJvm.fingerprints(FreshJvm.fork(List.of("-Xint"), 1, 2, models.subList(1, 2))), "-Xint");
    }

    private static void assertPrefixes(List<String> full, List<String> shorter, String mode) {
        assertEquals(full.size(), shorter.size(), mode);
        for (int i = 0; i < full.size(); i++) {
            assertTrue(full.get(i).startsWith(shorter.get(i) + " "), mode + ": " + shorter.get(i) + " vs tiered " + full.get(i));
        }
    }

    private static int indexOfMatch(List<String> lines, Pattern p) {
        for (int i = 0; i < lines.size(); i++) {
            if (p.matcher(lines.get(i)).matches()) {
                return i;
            }
        }
        return -1;
    }
}
