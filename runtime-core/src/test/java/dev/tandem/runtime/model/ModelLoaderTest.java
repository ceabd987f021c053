package dev.tandem.runtime.model;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.error.ModelFormatException;
import dev.tandem.runtime.format.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.tandem.runtime.model.TinyLlamaGguf.DIM;
import static dev.tandem.runtime.model.TinyLlamaGguf.HIDDEN;
import static dev.tandem.runtime.model.TinyLlamaGguf.VOCAB;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ModelLoader on small generated GGUF files: the happy path and each way a llama GGUF can be wrong. */
class ModelLoaderTest {
    @TempDir
    Path dir;

    @Test
    void loadsSmallLlamaWithDefaultsAndGqa() {
        TinyLlamaGguf spec = new TinyLlamaGguf();
        spec.untiedOutput = true;
        spec.typeOverrides.put("blk.1.ffn_norm.weight", GgmlType.F16);
        Path file = spec.write(dir.resolve("tiny.gguf"));
        try (LoadedModel m = ModelLoader.load(file)) {
            LlamaConfig c = m.config();
            assertEquals(new LlamaConfig(DIM, HIDDEN, 2, 4, 2, VOCAB, 128, 1e-6f, 500000f, null), c);
            assertEquals("GGUF v3, mostly Q8_0", m.formatDescription());
            LlamaWeights w = m.weights();
            assertEquals(WeightFormat.Q8_0, w.wk()[1].format());
            assertEquals(32, w.wk()[1].rows());
            assertEquals(DIM, w.wk()[1].cols());
            assertEquals(DIM, w.w2()[0].rows());
            assertEquals(HIDDEN, w.w2()[0].cols());
            assertNotSame(w.tokenEmbedding(), w.output());
            assertEquals(DIM, w.ffnNorm()[1].length);
            assertEquals(m.gguf().orElseThrow().tensor("blk.1.attn_q.weight").data().address(), w.wq()[1].data().address());
            assertEquals(m.tensorTable().size(), m.gguf().orElseThrow().tensors().size());
            assertEquals("(40, 64)", m.tensorTable().get(0).shape());
            assertArrayEquals(c.ropeInvFreq(), m.ropeInvFreq());
            assertTrue(m.ropeFreqFactors().isEmpty());
        }
    }

    @Test
    void ropeFreqsTensorDividesInverseFrequencies() {
        TinyLlamaGguf spec = new TinyLlamaGguf();
        float[] factors = new float[DIM / 4 / 2];
        for (int i = 0; i < factors.length; i++) {
            factors[i] = 1 + i;
        }
        spec.ropeFreqs = factors;
        try (LoadedModel m = ModelLoader.load(spec.write(dir.resolve("rope.gguf")))) {
            float[] base = m.config().ropeInvFreq();
            float[] eff = m.ropeInvFreq();
            for (int i = 0; i < base.length; i++) {
                assertEquals(base[i] / factors[i], eff[i], 0f);
            }
            assertArrayEquals(factors, m.ropeFreqFactors().orElseThrow());
        }
    }

    @Test
    void missingTensor() {
        TinyLlamaGguf spec = new TinyLlamaGguf();
        spec.omitTensors.add("blk.1.ffn_up.weight");
        assertLoadError(spec, "missing tensor 'blk.1.ffn_up.weight'");
    }

    @Test
    void wrongTensorShape() {
        TinyLlamaGguf spec = new TinyLlamaGguf();
        spec.shapeOverrides.put("blk.0.attn_q.weight", new long[] {DIM, 32});
        assertLoadError(spec, "tensor 'blk.0.attn_q.weight' has shape ne=[64, 32], expected ne=[64, 64]");
    }

    @Test
    void wrongNormShape() {
        TinyLlamaGguf spec = new TinyLlamaGguf();
        spec.shapeOverrides.put("output_norm.weight", new long[] {DIM, 2});
        assertLoadError(spec, "tensor 'output_norm.weight' has shape ne=[64, 2], expected ne=[64]");
    }

    @Test
    void missingMetadataKey() {
        TinyLlamaGguf spec = new TinyLlamaGguf();
        spec.omitKeys.add("llama.block_count");
        assertLoadError(spec, "missing metadata key 'llama.block_count'");
    }

    @Test
    void defaultsWhenOptionalKeysAreMissing() {
        TinyLlamaGguf spec = new TinyLlamaGguf();
        spec.omitKeys.add("llama.attention.layer_norm_rms_epsilon");
        spec.omitKeys.add("llama.rope.freq_base");
        try (LoadedModel m = ModelLoader.load(spec.write(dir.resolve("defaults.gguf")))) {
            assertEquals(1e-5f, m.config().rmsEps());
            assertEquals(10000f, m.config().ropeTheta());
        }
    }

    @Test
    void wrongArchitecture() {
        TinyLlamaGguf spec = new TinyLlamaGguf();
        spec.architecture = "gpt2";
        assertLoadError(spec, "architecture 'gpt2' is not supported (metadata key 'general.architecture'; supported: llama, qwen2, qwen3, qwen2moe, qwen3moe)");
    }

    @Test
    void unsupportedTensorType() {
        TinyLlamaGguf spec = new TinyLlamaGguf();
        spec.typeOverrides.put("blk.0.attn_q.weight", GgmlType.Q4_1);
        assertLoadError(spec, "tensor 'blk.0.attn_q.weight' has type Q4_1, which Tandem does not support (supported: F32, F16, BF16, Q8_0, Q4_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)");
    }

    @Test
    void quantizedNormIsRefused() {
        TinyLlamaGguf spec = new TinyLlamaGguf();
        spec.typeOverrides.put("blk.0.attn_norm.weight", GgmlType.Q8_0);
        assertLoadError(spec, "tensor 'blk.0.attn_norm.weight' has type Q8_0; a norm weight must be F32, F16 or BF16");
    }

    @Test
    void tooShortForAnyFormat() throws IOException {
        Path file = Files.write(dir.resolve("tiny.bin"), new byte[] {1, 2, 3});
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("too short"), e.getMessage());
    }

    @Test
    void missingFile() {
        Path file = dir.resolve("absent.gguf");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }

    @Test
    void tiedOutputIsTheEmbedding() {
        try (LoadedModel m = ModelLoader.load(new TinyLlamaGguf().write(dir.resolve("tied.gguf")))) {
            assertSame(m.weights().tokenEmbedding(), m.weights().output());
        }
    }

    private void assertLoadError(TinyLlamaGguf spec, String fragment) {
        ModelFormatException e = loadError(spec);
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    private ModelFormatException loadError(TinyLlamaGguf spec) {
        Path file = spec.write(dir.resolve("bad.gguf"));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(file));
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        assertEquals(file, e.file());
        return e;
    }
}
