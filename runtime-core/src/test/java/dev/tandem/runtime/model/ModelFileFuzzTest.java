package dev.tandem.runtime.model;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.error.ModelFormatException;
import dev.tandem.runtime.format.FileTextInMessagesTest;
import dev.tandem.runtime.tokenizer.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Coverage-guided fuzzing of the model readers (GGUF with its tokenizer, llama2.c) with Jazzer. The
 * property: any bytes either load, or fail with a {@link ModelFormatException} whose message is one
 * safe line; never another exception, an OutOfMemoryError or a hang.
 *
 * <p>By default (and in CI) this runs in Jazzer's regression mode: every seed and every past finding
 * in {@code src/test/resources/dev/tandem/runtime/model/ModelFileFuzzTestInputs/anyBytesLoadOrFailWithOneSafeLine}
 * (seeds derived from ../shared/models by {@link ModelFileFuzzSeeds}; findings are named crash-*).
 * The {@code fuzz-ci} surefire execution then mutates them for a bounded number of inputs, and
 * {@code JAZZER_FUZZ=1 JAZZER_MAX_DURATION=20m JAZZER_MAX_EXECUTIONS=0 ./mvnw -pl runtime-core -am test
 * -Dtest=ModelFileFuzzTest -Dsurefire.failIfNoSpecifiedTests=false} fuzzes as long as asked (docs/architecture.md).
 */
class ModelFileFuzzTest {
    private static Path file;

    @BeforeAll
    static void createFile() throws IOException {
        file = Files.createTempFile("tandem-fuzz", ".model");
    }

    @AfterAll
    static void deleteFile() throws IOException {
        Files.deleteIfExists(file);
    }

    @FuzzTest(maxDuration = "60s", maxExecutions = 10_000)
    @DictionaryEntries({"GGUF", "general.architecture", "general.alignment", "llama", "llama.block_count",
            "llama.embedding_length", "llama.feed_forward_length", "llama.attention.head_count",
            "llama.attention.head_count_kv", "llama.context_length", "llama.vocab_size", "llama.rope.dimension_count",
            "llama.rope.scaling.type", "llama.rope.scaling.factor", "llama.rope.scale_linear", "linear",
            "tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type",
            "tokenizer.ggml.merges", "tokenizer.ggml.pre", "gpt2", "llama-bpe", "tokenizer.ggml.bos_token_id",
            "output.weight", "rope_freqs.weight", "token_embd.weight", "blk.0.", "blk.1.", "ak42"})
    void anyBytesLoadOrFailWithOneSafeLine(byte[] bytes) throws IOException {
        Files.write(file, bytes);
        try (Model m = Model.load(file)) {
            LlamaConfig c = m.config();
            assertTrue(c.dim() > 0 && c.nLayers() > 0 && c.vocabSize() > 0 && c.contextLength() > 0, c.toString());
            m.tokenizer().ifPresent(ModelFileFuzzTest::roundTrip);
        } catch (ModelFormatException e) {
            FileTextInMessagesTest.assertSafeLine(e.getMessage());
        }
    }

    /** A vocabulary the reader accepted must encode and decode without failing. */
    private static void roundTrip(Tokenizer t) {
        int[] ids = t.encode("Once upon a time, \u00e9\u65e5 <s>", true, false);
        for (int id : ids) {
            assertTrue(id >= 0 && id < t.vocabSize(), "id " + id);
        }
        t.decode(ids);
    }

    /** The seeds that are valid models stay valid, so the fuzzer starts from files that reach every reader stage. */
    @Test
    void validSeedsLoad() throws IOException {
        Path dir = Path.of("src/test/resources/dev/tandem/runtime/model/ModelFileFuzzTestInputs/anyBytesLoadOrFailWithOneSafeLine");
        List<Path> valid;
        try (Stream<Path> files = Files.list(dir)) {
            valid = files.filter(p -> p.getFileName().toString().startsWith("valid-")).sorted().toList();
        }
        assertEquals(ModelFileFuzzSeeds.VALID_SEEDS, valid.size(), valid.toString());
        for (Path seed : valid) {
            try (Model m = Model.load(seed)) {
                assertTrue(m.config().nLayers() >= 1, seed.toString());
            } catch (ModelFormatException e) {
                throw new UncheckedIOException(new IOException(seed + " no longer loads: " + e.getMessage()));
            }
        }
    }
}
