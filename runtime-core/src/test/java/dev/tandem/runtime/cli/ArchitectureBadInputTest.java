package dev.tandem.runtime.cli;

import dev.tandem.conformance.SharedData;
import dev.tandem.runtime.format.GgmlType;
import dev.tandem.runtime.format.GgufFile;
import dev.tandem.runtime.format.GgufTensor;
import dev.tandem.runtime.format.GgufValueType;
import dev.tandem.runtime.format.GgufWriter;
import dev.tandem.conformance.ArchitecturesLlamaCppOracle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static dev.tandem.runtime.cli.CliTest.tandem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Files of architectures and types Tandem does not run, mixtures whose counts disagree, and a
 * tokenizer of another model: each a one-line error with exit 3 naming the key and its value; and
 * the warnings where running is still meaningful (unknown tokens, a tokenizer.bin larger than the
 * model's vocabulary).
 */
class ArchitectureBadInputTest {
    @TempDir
    Path dir;

    private static void assertRefused(CliTest.Result r, String... fragments) {
        assertEquals(3, r.code(), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("tandem: "), r.err());
        for (String f : fragments) {
            assertTrue(r.err().contains(f), "'" + f + "' in " + r.err());
        }
        assertEquals("", r.out(), "nothing ran");
    }

    /**
     * tandem info on a file it cannot load: exit 0, what the header says, and each problem on an
     * "unsupported:" line of its own (fragments: what one such line must say).
     */
    private static String assertListed(CliTest.Result r, String... fragments) {
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err());
        for (String field : new String[] {"architecture:", "formats:", "vocabulary:", "chat template:"}) {
            assertTrue(r.out().lines().anyMatch(l -> l.startsWith(field)), field + " in " + r.out());
        }
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("unsupported:") && java.util.Arrays.stream(fragments).allMatch(l::contains)),
                String.join(", ", fragments) + " on one unsupported line of " + r.out());
        return r.out();
    }

    /** A copy of an architecture test file with some metadata values replaced and one tensor retyped. */
    private Path rewrite(String file, Map<String, Object> values, String retype, GgmlType newType, byte[] newBytes) {
        Path out = dir.resolve("bad-" + file);
        try (GgufFile g = GgufFile.open(ArchitecturesLlamaCppOracle.path(file))) {
            GgufWriter w = new GgufWriter();
            g.metadata().forEach((key, value) -> {
                String type = g.typeOf(key).orElseThrow();
                if (type.startsWith("ARRAY[")) {
                    w.putArray(key, GgufValueType.valueOf(type.substring(6, type.length() - 1)), value);
                } else {
                    w.put(key, GgufValueType.valueOf(type), values.getOrDefault(key, value));
                }
            });
            for (GgufTensor t : g.tensors()) {
                if (t.name().equals(retype)) {
                    w.addRawTensor(t.name(), newType, t.dims(), newBytes);
                } else {
                    w.addRawTensor(t.name(), t.type(), t.dims(), t.data().toArray(ValueLayout.JAVA_BYTE));
                }
            }
            w.write(out);
        }
        return out;
    }

    private Path rewrite(String file, Map<String, Object> values) {
        return rewrite(file, values, null, null, null);
    }

    @Test
    void unsupportedArchitecture() {
        Path f = rewrite("llama-f32.gguf", Map.of("general.architecture", "gpt2"));
        assertRefused(tandem("generate", "-m", f.toString(), "--prompt-ids", "1", "-n", "1"),
                "architecture 'gpt2' is not supported", "'general.architecture'", "supported: llama, qwen2, qwen3, qwen2moe, qwen3moe");
        String info = assertListed(tandem("info", "-m", f.toString()), "architecture 'gpt2' is not supported");
        assertTrue(info.contains("architecture:   'gpt2'") && info.contains("blk.0.attn_q.weight"), info);
        assertEquals(1, info.lines().filter(l -> l.startsWith("unsupported:")).count(), "one problem, one line: " + info);
    }

    @Test
    void unsupportedTensorType() {
        // blk.0.attn_q.weight (32, 32) as Q4_1: 32 blocks of 20 bytes
        Path f = rewrite("llama-f32.gguf", Map.of(), "blk.0.attn_q.weight", GgmlType.Q4_1, new byte[32 * 20]);
        assertRefused(tandem("generate", "-m", f.toString(), "--prompt-ids", "1", "-n", "1"),
                "tensor 'blk.0.attn_q.weight' has type Q4_1", "supported: F32, F16");
    }

    @Test
    void moreExpertsUsedThanThereAre() {
        Path f = rewrite("mixtral-f32.gguf", Map.of("llama.expert_used_count", 5L));
        assertRefused(tandem("generate", "-m", f.toString(), "--prompt-ids", "1", "-n", "1"),
                "'llama.expert_used_count' is 5", "'llama.expert_count' is 4");
    }

    @Test
    void expertCountDisagreesWithTheExpertTensors() {
        Path f = rewrite("qwen3moe-f32.gguf", Map.of("qwen3moe.expert_count", 8L));
        assertListed(tandem("info", "-m", f.toString()),
                "'qwen3moe.expert_count' is 8", "blk.0.ffn_gate_exps.weight", "ne=[32, 32, 4]");
        assertRefused(tandem("generate", "-m", f.toString(), "--prompt-ids", "1", "-n", "1"),
                "'qwen3moe.expert_count' is 8", "blk.0.ffn_gate_exps.weight", "ne=[32, 32, 4]");
    }

    @Test
    void mixtureArchitectureWithoutExperts() {
        Path f = rewrite("qwen2moe-f32.gguf", Map.of("qwen2moe.expert_count", 0L));
        assertListed(tandem("info", "-m", f.toString()), "'qwen2moe.expert_count' is missing or 0");
        assertRefused(tandem("generate", "-m", f.toString(), "--prompt-ids", "1", "-n", "1"), "'qwen2moe.expert_count' is missing or 0");
    }

    @Test
    void infoListsEveryProblemOfAFileItCannotLoadOneLineEach() {
        // Three problems in one file: the loader stops at the first, info names them all.
        Path f = rewrite("mixtral-f32.gguf", Map.of("general.architecture", "gpt2"), "blk.0.attn_q.weight", GgmlType.Q4_1,
                new byte[32 * 20]);
        String info = assertListed(tandem("info", "-m", f.toString()), "architecture 'gpt2' is not supported");
        assertListed(tandem("info", "-m", f.toString()), "tensor type Q4_1", "'blk.0.attn_q.weight'", "supported: F32, F16");
        assertTrue(info.contains("formats:") && info.contains("attention F32, Q4_1"), info);
        assertTrue(info.lines().anyMatch(l -> l.startsWith("vocabulary:     ") && l.contains("pieces")), info);
        assertEquals(2, info.lines().filter(l -> l.startsWith("unsupported:")).count(), info);

        long elements;
        try (GgufFile g = GgufFile.open(ArchitecturesLlamaCppOracle.path("mixtral-f32.gguf"))) {
            elements = g.tensor("blk.1.ffn_down_exps.weight").elementCount();
        }
        Path moe = rewrite("mixtral-f32.gguf", Map.of("llama.expert_used_count", 5L), "blk.1.ffn_down_exps.weight", GgmlType.Q5_0,
                new byte[Math.toIntExact(elements / 32 * 22)]);
        String both = assertListed(tandem("info", "-m", moe.toString()), "'llama.expert_used_count' is 5", "'llama.expert_count' is 4");
        assertListed(tandem("info", "-m", moe.toString()), "tensor type Q5_0", "'blk.1.ffn_down_exps.weight'");
        assertEquals(2, both.lines().filter(l -> l.startsWith("unsupported:")).count(), both);
    }

    @Test
    void infoOnAnUnreadableHeaderIsStillExit3() throws java.io.IOException {
        Path f = dir.resolve("truncated.gguf");
        java.nio.file.Files.write(f, new byte[] {'G', 'G', 'U', 'F', 3, 0, 0, 0, 1});
        assertRefused(tandem("info", "-m", f.toString()), f.toString());
    }

    @Test
    void tokenizerOfAnotherVocabularySize() {
        Path bpe = Path.of("src/test/resources/tokenizer/bpe-llama3.gguf");
        CliTest.Result r = tandem("generate", "-m", ArchitecturesLlamaCppOracle.path("llama-f32.gguf").toString(),
                "--tokenizer", bpe.toString(), "-p", "hello", "-n", "1");
        int pieces = dev.tandem.runtime.Model.tokenizerPieces(bpe);
        assertTrue(pieces != 259);
        assertRefused(r, "tokenizer.ggml.tokens is " + pieces, "vocabulary of 259", bpe.toString());
    }

    @Test
    void largerTokenizerBinIsAWarningAndRuns() {
        CliTest.Result r = tandem("generate", "-m", SharedData.model("stories260K.bin").toString(),
                "--tokenizer", SharedData.model("llama2-tokenizer.bin").toString(), "-p", "Once", "-n", "2", "--ids");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("warning: --tokenizer") && r.err().contains("32000 pieces") && r.err().contains("512"), r.err());
    }

    @Test
    void unknownTokensAreCountedInAWarning() {
        // stories260K's GGUFs carry a placeholder vocabulary without byte pieces: words become <unk>.
        CliTest.Result r = tandem("tokenize", "-m", SharedData.model("stories260K-q8_0.gguf").toString(), "Once upon a time");
        assertEquals(0, r.code(), r.err());
        long unknown = Arrays.stream(r.out().trim().split(" ")).filter("0"::equals).count();
        assertTrue(unknown > 0, r.out());
        assertTrue(r.err().contains("warning: " + unknown + " of the prompt's"), r.err());
        CliTest.Result clean = tandem("tokenize", "--tokenizer", SharedData.model("llama2-tokenizer.bin").toString(), "Once upon a time");
        assertEquals("", clean.err(), "byte fallback: nothing unknown, no warning");
    }
}
