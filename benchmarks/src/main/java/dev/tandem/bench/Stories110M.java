package dev.tandem.bench;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.format.GgmlType;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.SyntheticCheckpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The stories110M-shaped synthetic model as a real GGUF file (written once per type, then reused
 * from the temp directory), loaded the way users load models: memory-mapped.
 */
final class Stories110M {
    static final LlamaConfig CONFIG = SyntheticCheckpoint.STORIES_110M;

    private Stories110M() {}

    static Model load(GgmlType type) {
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "tandem-bench");
        Path file = dir.resolve("stories110M-shape-" + type.name().toLowerCase() + ".gguf");
        try {
            if (!Files.exists(file)) {
                Files.createDirectories(dir);
                Path partial = dir.resolve(file.getFileName() + ".partial");
                SyntheticCheckpoint.write(partial, CONFIG, type, 110);
                Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Model.load(file);
    }

    /** Bytes one decode step at position pos reads: every matrix once, plus K and V for pos+1 positions. */
    static long decodeBytes(Model m, int pos) {
        LlamaConfig c = m.config();
        return m.weights().decodeWeightBytes() + 2L * c.nLayers() * (pos + 1) * c.kvDim() * Float.BYTES;
    }

    /** FLOPs of a prefill of n tokens from position 0 (matmuls plus attention; logits for the last only). */
    static double prefillFlops(LlamaConfig c, int n) {
        double perToken = 0;
        perToken += (double) c.dim() * c.nHeads() * c.headDim() * 2;   // wq, wo
        perToken += (double) c.dim() * c.kvDim() * 2;                   // wk, wv
        perToken += (double) c.dim() * c.hiddenDim() * 3;               // w1, w2, w3
        double matmul = 2 * perToken * c.nLayers() * n;
        double attended = (double) n * (n + 1) / 2;                     // causal positions
        double attention = 2 * 2 * attended * c.nHeads() * c.headDim() * c.nLayers(); // QK^T and AV
        double logits = 2.0 * c.dim() * c.vocabSize();
        return matmul + attention + logits;
    }
}
