package dev.tandem.runtime.model;

import dev.tandem.conformance.SharedData;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.format.GgmlType;
import dev.tandem.runtime.format.GgufFile;
import dev.tandem.runtime.format.GgufTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The real stories260K files in ../shared/models: config, types, tying, and zero-copy views of the right bytes. */
class SharedModelsTest {
    private static final LlamaConfig STORIES_260K = new LlamaConfig(64, 172, 5, 8, 4, 512, 512, 1e-5f, 10000f, null);

    static Path model(String name) {
        return SharedData.model(name);
    }

    @Test
    void llama2cCheckpoint() throws java.io.IOException {
        try (LoadedModel m = ModelLoader.load(model("stories260K.bin"))) {
            assertEquals(STORIES_260K, m.config());
            assertEquals("llama2.c v0 float32", m.formatDescription());
            assertTrue(m.gguf().isEmpty());
            LlamaWeights w = m.weights();
            assertSame(w.tokenEmbedding(), w.output(), "vocab > 0 means a tied classifier");
            assertEquals(512, w.tokenEmbedding().rows());
            assertEquals(64, w.tokenEmbedding().cols());
            assertEquals(28, m.tensorTable().getFirst().offset());
            byte[] file = Files.readAllBytes(m.path());
            assertEquals(-1, w.tokenEmbedding().data().mismatch(MemorySegment.ofArray(file).asSlice(28, 512 * 64 * 4)),
                    "the embedding views the bytes right after the 28-byte header");
            assertEquals(32, w.wk()[4].rows());
            assertEquals(172, w.w2()[0].cols());
            assertZeroCopy(w);
            assertEquals("token_embedding", m.tensorTable().getFirst().name());
            assertEquals("(512, 64)", m.tensorTable().getFirst().shape());
            assertEquals(Files.size(m.path()) - 28, m.tensorTable().stream().mapToLong(TensorEntry::bytes).sum());
        }
    }

    @ParameterizedTest
    @CsvSource({"stories260K-f32.gguf, F32, F32", "stories260K-f16.gguf, F16, F16",
            "stories260K-q8_0.gguf, Q8_0, Q8_0", "stories260K-q4_0.gguf, Q4_0, Q4_0"})
    void ggufFiles(String name, GgmlType matrixType, String mostly) {
        try (LoadedModel m = ModelLoader.load(model(name))) {
            assertEquals(STORIES_260K, m.config());
            assertEquals("GGUF v3, mostly " + mostly, m.formatDescription());
            GgufFile g = m.gguf().orElseThrow();
            assertEquals("llama", g.requireString("general.architecture"));
            assertEquals(512, g.requireArray("tokenizer.ggml.tokens", String[].class).length);
            LlamaWeights w = m.weights();
            assertSame(w.tokenEmbedding(), w.output(), "no output.weight: tied to token_embd");
            assertEquals(matrixType.weightFormat(), w.wq()[0].format());
            assertEquals(matrixType.weightFormat(), w.w1()[4].format());
            // ffn_down's input dim 172 is not a multiple of 32, so quantized files keep it F32.
            WeightFormat down = matrixType == GgmlType.F16 ? WeightFormat.F16 : WeightFormat.F32;
            assertEquals(down, w.w2()[2].format());
            for (int l = 0; l < 5; l++) {
                assertView(g, "blk." + l + ".attn_q.weight", w.wq()[l]);
                assertView(g, "blk." + l + ".attn_k.weight", w.wk()[l]);
                assertView(g, "blk." + l + ".attn_v.weight", w.wv()[l]);
                assertView(g, "blk." + l + ".attn_output.weight", w.wo()[l]);
                assertView(g, "blk." + l + ".ffn_gate.weight", w.w1()[l]);
                assertView(g, "blk." + l + ".ffn_down.weight", w.w2()[l]);
                assertView(g, "blk." + l + ".ffn_up.weight", w.w3()[l]);
            }
            assertView(g, "token_embd.weight", w.tokenEmbedding());
            assertZeroCopy(w);
            assertEquals(g.tensors().size(), m.tensorTable().size());
        }
    }

    private static void assertView(GgufFile g, String name, WeightMatrix matrix) {
        GgufTensor t = g.tensor(name);
        assertEquals(t.offset(), matrix.data().address() - g.mapping().address(), name + " views its own bytes");
        assertEquals(t.byteSize(), matrix.data().byteSize(), name);
        assertEquals(t.dim(1), matrix.rows(), name);
        assertEquals(t.dim(0), matrix.cols(), name);
    }

    private static void assertZeroCopy(LlamaWeights w) {
        assertTrue(w.tokenEmbedding().data().isMapped());
        for (WeightMatrix[] layer : new WeightMatrix[][] {w.wq(), w.wk(), w.wv(), w.wo(), w.w1(), w.w2(), w.w3()}) {
            for (WeightMatrix matrix : layer) {
                assertTrue(matrix.data().isMapped(), "weights are views of the mapped file, not copies");
            }
        }
    }

    @Test
    void f32GgufHoldsTheSameFloatsAsTheCheckpoint() {
        try (LoadedModel bin = ModelLoader.load(model("stories260K.bin"));
             LoadedModel gguf = ModelLoader.load(model("stories260K-f32.gguf"))) {
            LlamaWeights a = bin.weights(), b = gguf.weights();
            assertSameBytes(a.tokenEmbedding(), b.tokenEmbedding(), "token embedding");
            for (int l = 0; l < 5; l++) {
                assertSameBytes(a.wq()[l], b.wq()[l], "wq " + l);
                assertSameBytes(a.wk()[l], b.wk()[l], "wk " + l);
                assertSameBytes(a.wv()[l], b.wv()[l], "wv " + l);
                assertSameBytes(a.wo()[l], b.wo()[l], "wo " + l);
                assertSameBytes(a.w1()[l], b.w1()[l], "w1 " + l);
                assertSameBytes(a.w2()[l], b.w2()[l], "w2 " + l);
                assertSameBytes(a.w3()[l], b.w3()[l], "w3 " + l);
                assertArrayEquals(a.attnNorm()[l], b.attnNorm()[l]);
                assertArrayEquals(a.ffnNorm()[l], b.ffnNorm()[l]);
            }
            assertArrayEquals(a.finalNorm(), b.finalNorm());
        }
    }

    private static void assertSameBytes(WeightMatrix a, WeightMatrix b, String what) {
        MemorySegment x = a.data(), y = b.data();
        assertEquals(x.byteSize(), y.byteSize(), what);
        assertEquals(-1, x.mismatch(y), what + ": first differing byte");
    }
}
