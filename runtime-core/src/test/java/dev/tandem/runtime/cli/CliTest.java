package dev.tandem.runtime.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.conformance.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI contract of DESIGN.md §8: outputs, stats line and exit codes. */
class CliTest {

    record Result(int code, String out, String err) {}

    static Result tandem(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    static int[] ids(String line) {
        return Arrays.stream(line.trim().split(" ")).mapToInt(Integer::parseInt).toArray();
    }

    @Test
    void generateIdsMatchReferenceAndStatsGoToStderr() {
        JsonNode c = SharedData.reference("stories260K.bin.json").get("cases").get(1);
        int[] prompt = SharedData.ints(c.get("prompt_ids"));
        int[] expected = Arrays.copyOf(SharedData.ints(c.get("greedy_ids")), 40);
        String promptCsv = String.join(",", Arrays.stream(prompt).mapToObj(Integer::toString).toList());
        Result r = tandem("generate", "-m", SharedData.model("stories260K.bin").toString(),
                "--prompt-ids", promptCsv, "-n", "40", "--ids", "--temp", "0");
        assertEquals(0, r.code(), r.err());
        assertArrayEquals(expected, ids(r.out()), "stdout is exactly the generated ids: " + r.out());
        assertEquals(1, r.out().lines().count(), r.out());
        assertTrue(r.err().lines().anyMatch(l -> l.matches("stats: load_ms=\\S+ ttft_ms=\\S+ prefill_tps=\\S+ decode_tps=\\S+.*")), r.err());
    }

    @Test
    void logitsOutWritesTheLogitsAfterThePrompt(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("logits.json");
        Result r = tandem("generate", "-m", SharedData.model("stories260K-f16.gguf").toString(),
                "--prompt-ids", "1,77,300", "-n", "1", "--ids", "--logits-out", file.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode expected = SharedData.reference("stories260K-f16.gguf.json").get("cases").get(1);
        assertEquals("[1,77,300]", expected.get("prompt_ids").toString());
        float[] logits = new ObjectMapper().readValue(file.toFile(), float[].class);
        double err = SharedData.relativeL2(logits, SharedData.doubles(expected.get("logits_after_prompt")));
        assertTrue(err < 1e-3, "relative L2 " + err);
    }

    @Test
    void embeddedModelIsDeterministicAndNeedsNoFile() {
        Result a = tandem("generate", "-p", "Once upon a time", "-n", "12", "--ids");
        Result b = tandem("generate", "-p", "Once upon a time", "-n", "12", "--ids");
        assertEquals(0, a.code(), a.err());
        assertEquals(12, ids(a.out()).length);
        assertEquals(a.out(), b.out());
        Result text = tandem("generate", "-n", "5");
        assertEquals(0, text.code(), text.err());
    }

    @Test
    void embeddedModelSpeaksKingJamesEnglish() {
        // The default model is trained (tools/train-default-model): sampled text is words, and the
        // commonest words of its corpus come up. A random model's text fails both.
        Result r = tandem("generate", "-p", "And it came to pass", "-n", "64", "--temperature", "0.8", "--seed", "7");
        assertEquals(0, r.code(), r.err());
        String[] words = r.out().strip().split("\\s+");
        long alphabetic = Arrays.stream(words).filter(w -> w.matches("\\p{Alpha}+[,.;:!?']?")).count();
        assertTrue(words.length >= 20 && alphabetic >= 0.8 * words.length, "not words: " + r.out());
        java.util.Set<String> lower = Arrays.stream(words).map(w -> w.replaceAll("\\W", "").toLowerCase()).collect(java.util.stream.Collectors.toSet());
        assertTrue(lower.containsAll(java.util.List.of("the", "and", "of")), "no 'the', 'and', 'of' in: " + r.out());
    }

    @Test
    void theDefaultGenerateReadsAsTheCorpusWhereGreedyLoops() {
        // No sampling flags: llama.cpp's defaults with the fixed seed. Greedy decoding of this small
        // model goes round in a loop; the same criterion must catch that, or it proves nothing.
        var vocabulary = embeddedVocabulary();
        Result sampled = tandem("generate", "-p", "In the beginning", "-n", "64");
        assertEquals(0, sampled.code(), sampled.err());
        assertNull(dev.tandem.conformance.CorpusText.problem(sampled.out(), vocabulary, 30), sampled.out());
        assertTrue(sampled.err().contains("seed=" + dev.tandem.runtime.generate.Sampling.DEFAULT_SEED), sampled.err());
        assertEquals(sampled.out(), tandem("generate", "-p", "In the beginning", "-n", "64").out(), "the fixed seed reproduces it");
        Result greedy = tandem("generate", "-p", "In the beginning", "-n", "64", "--temp", "0");
        assertEquals(0, greedy.code(), greedy.err());
        assertNotNull(dev.tandem.conformance.CorpusText.problem(greedy.out(), vocabulary, 30), "greedy passed: " + greedy.out());
    }

    private static dev.tandem.runtime.tokenizer.Tokenizer embeddedVocabulary() {
        try (var m = dev.tandem.runtime.Model.embedded()) {
            return m.tokenizer().orElseThrow();
        }
    }

    @Test
    void samplingFlagsAreUsageErrorsWhenOutOfRange() {
        for (String[] bad : new String[][] {{"--min-p", "2"}, {"--repeat-penalty", "0"}, {"--repeat-last-n", "-5"},
                {"--temp", "-1"}, {"--presence-penalty", "NaN"}}) {
            Result r = tandem("generate", "-n", "2", bad[0], bad[1]);
            assertEquals(2, r.code(), String.join(" ", bad) + ": " + r.err());
            assertEquals(1, r.err().lines().count(), r.err());
        }
    }

    @Test
    void samplingIsReproducibleBySeed() {
        String[] args = {"generate", "-m", SharedData.model("stories260K.bin").toString(), "--prompt-ids", "1",
                "-n", "30", "--temperature", "1.0", "--top-p", "0.9", "--seed", "1234", "--ids"};
        Result a = tandem(args), b = tandem(args);
        assertEquals(0, a.code(), a.err());
        assertEquals(a.out(), b.out());
        Result other = tandem("generate", "-m", SharedData.model("stories260K.bin").toString(), "--prompt-ids", "1",
                "-n", "30", "--temperature", "1.0", "--top-p", "0.9", "--seed", "99", "--ids");
        assertFalse(a.out().equals(other.out()), "different seeds gave the same 30 tokens");
    }

    @Test
    void missingModelFileIsExit3OnOneLine() {
        Result r = tandem("generate", "-m", "/nonexistent/model.gguf", "--prompt-ids", "1");
        assertEquals(3, r.code());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains("/nonexistent/model.gguf"), r.err());
    }

    @Test
    void truncatedModelIsExit3NamingTheFile(@TempDir Path dir) throws IOException {
        Path cut = dir.resolve("cut.gguf");
        byte[] bytes = Files.readAllBytes(SharedData.model("stories260K-q8_0.gguf"));
        Files.write(cut, Arrays.copyOf(bytes, bytes.length / 2));
        Result r = tandem("info", "-m", cut.toString());
        assertEquals(3, r.code(), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains("cut.gguf"), r.err());
    }

    @Test
    void usageErrorsAreExit2() {
        assertEquals(2, tandem("generate", "--no-such-flag").code());
        assertEquals(2, tandem().code());
        Result topP = tandem("generate", "--top-p", "2", "-n", "1");
        assertEquals(2, topP.code());
        assertTrue(topP.err().contains("top-p"), topP.err());
        Result both = tandem("generate", "-p", "x", "--prompt-ids", "1");
        assertEquals(2, both.code(), both.err());
        Result noVocab = tandem("generate", "-m", SharedData.model("stories260K.bin").toString(), "-p", "hello");
        assertEquals(2, noVocab.code(), noVocab.err());
        assertTrue(noVocab.err().contains("vocabulary"), noVocab.err());
        Result badId = tandem("generate", "-m", SharedData.model("stories260K.bin").toString(), "--prompt-ids", "1,512");
        assertEquals(2, badId.code(), badId.err());
        assertTrue(badId.err().contains("512"), badId.err());
    }

    @Test
    void promptLongerThanContextIsAClearError() {
        String ids = String.join(",", java.util.Collections.nCopies(20, "1"));
        Result r = tandem("generate", "-m", SharedData.model("stories260K.bin").toString(),
                "--prompt-ids", ids, "--context", "16");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("20 tokens") && r.err().contains("16"), r.err());
    }

    @Test
    void tokenizeMatchesReference() {
        JsonNode cases = SharedData.reference("llama2_tokenizer.json").get("cases");
        int checked = 0;
        for (JsonNode c : cases) {
            if (!"text".equals(c.get("kind").asText()) || c.get("text").asText().isEmpty()) {
                continue;
            }
            Result r = tandem("tokenize", "--tokenizer", SharedData.model("llama2-tokenizer.bin").toString(), c.get("text").asText());
            assertEquals(0, r.code(), r.err());
            assertArrayEquals(SharedData.ints(c.get("expected_ids")), ids(r.out()), c.get("text").asText());
            if (++checked == 3) {
                break;
            }
        }
        assertEquals(3, checked);
        Result noBos = tandem("tokenize", "--tokenizer", SharedData.model("llama2-tokenizer.bin").toString(), "--no-bos", "hi");
        assertFalse(noBos.out().startsWith("1 "), noBos.out());
    }

    @Test
    void infoPrintsConfigAndTensorTable() {
        Result r = tandem("info", "-m", SharedData.model("stories260K-q8_0.gguf").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("blk.0.ffn_down.weight"), r.out());
        assertTrue(r.out().contains("Q8_0"), r.out());
        assertTrue(r.out().matches("(?s).*layers:\\s+5.*"), r.out());
    }

    @Test
    void unknownDeviceIsAUsageError() {
        // Exit 2 since issue 10: no backend has the name, so the name must change (CliBadInputTest has exit 4).
        Result r = tandem("generate", "-n", "2", "--device", "tpu");
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().lines().filter(l -> l.startsWith("tandem:")).count(), r.err());
        assertTrue(r.err().contains("tpu") && r.err().contains("cpu"), r.err());
    }

    @Test
    void generateRunsThroughTheDeviceSpi() {
        Result viaDevice = tandem("generate", "-m", SharedData.model("stories260K-f16.gguf").toString(),
                "--prompt-ids", "1,77,300", "-n", "30", "--ids", "--temp", "0", "--device", "scalar-test");
        assertEquals(0, viaDevice.code(), viaDevice.err());
        int[] expected = Arrays.copyOf(SharedData.ints(SharedData.reference("stories260K-f16.gguf.json")
                .get("cases").get(1).get("greedy_ids")), 30);
        assertArrayEquals(expected, ids(viaDevice.out()));
        assertTrue(viaDevice.err().contains("device=scalar_test_device"), viaDevice.err());
    }

    @Test
    void devicesListsEveryBackend() {
        Result r = tandem("devices");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("cpu") && r.out().contains("null") && r.out().contains("bandwidth"), r.out());
    }
}
