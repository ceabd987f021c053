package dev.tandem.runtime.format;

import dev.tandem.runtime.error.ModelFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Cut and corrupted variants of a valid file: each must open or fail with ModelFormatException, nothing else. */
class GgufFuzzTest {
    @TempDir
    Path dir;

    @Test
    void truncationsAndByteFlipsOnlyEverGiveModelFormatException() throws Exception {
        Random random = new Random();
        long seed = random.nextLong();
        random.setSeed(seed);
        Path valid = dir.resolve("valid.gguf");
        float[] w = new float[64 * 4];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) random.nextGaussian();
        }
        new GgufWriter().putString("general.architecture", "llama").putUint32("llama.block_count", 1)
                .putArray("tokenizer.ggml.tokens", GgufValueType.STRING, new String[] {"<unk>", "a", "b"})
                .putArray("tokenizer.ggml.scores", GgufValueType.FLOAT32, new float[] {0, -1, -2})
                .put("nested", GgufValueType.ARRAY, new GgufWriter.GgufArray(GgufValueType.ARRAY, new GgufWriter.GgufArray[] {
                        new GgufWriter.GgufArray(GgufValueType.UINT16, new int[] {1, 2})}))
                .addTensor("a", GgmlType.F32, new long[] {64, 2}, Arrays.copyOf(w, 128))
                .addTensor("b", GgmlType.Q8_0, new long[] {64, 4}, w)
                .addTensor("c", GgmlType.Q4_0, new long[] {32, 2}, Arrays.copyOf(w, 64))
                .write(valid);
        byte[] bytes = Files.readAllBytes(valid);
        long dataOffset;
        try (GgufFile g = GgufFile.open(valid)) {
            dataOffset = g.dataOffset();
        }
        int failures = 0;
        for (int cut = 0; cut < bytes.length; cut += cut < dataOffset + 8 ? 1 : 7) {
            failures += tryOpen(Arrays.copyOf(bytes, cut), "cut at " + cut + ", seed " + seed) ? 0 : 1;
        }
        assertTrue(failures > 0);
        for (int trial = 0; trial < 3000; trial++) {
            byte[] corrupt = bytes.clone();
            int flips = 1 + random.nextInt(3);
            for (int f = 0; f < flips; f++) {
                int at = random.nextInt((int) dataOffset);
                corrupt[at] = random.nextInt(4) == 0 ? (byte) 0xFF : (byte) (corrupt[at] ^ (1 << random.nextInt(8)));
            }
            tryOpen(corrupt, "trial " + trial + ", seed " + seed);
        }
    }

    /** True when the bytes opened; any exception other than ModelFormatException fails the test (with the seed). */
    private boolean tryOpen(byte[] bytes, String what) throws Exception {
        Path file = Files.write(dir.resolve("fuzz.gguf"), bytes);
        try (GgufFile g = GgufFile.open(file)) {
            for (GgufTensor t : g.tensors()) {
                if (t.byteSize() > 0) {
                    t.data().get(java.lang.foreign.ValueLayout.JAVA_BYTE, t.byteSize() - 1); // within the mapping
                }
            }
            g.metadata().forEach((k, v) -> k.length());
            return true;
        } catch (ModelFormatException expected) {
            assertTrue(expected.getMessage().contains(file.toString()), what + ": " + expected.getMessage());
            return false;
        } catch (RuntimeException other) {
            throw new AssertionError(what + ": expected success or ModelFormatException, got " + other, other);
        }
    }
}
