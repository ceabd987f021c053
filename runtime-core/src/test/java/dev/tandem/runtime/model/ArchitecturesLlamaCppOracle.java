package dev.tandem.runtime.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.runtime.exec.Forward;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** llama.cpp's greedy runs of the architecture test files (tools/arch-testdata) and the comparison with them. */
public final class ArchitecturesLlamaCppOracle {
    private ArchitecturesLlamaCppOracle() {}

    public static final JsonNode ORACLE = oracle();

    /** The tolerance of the entry's format (see ArchitecturesLlamaCppTest for why each). */
    public static double tolerance(JsonNode entry) {
        return ArchitecturesLlamaCppTest.TOLERANCE.get(entry.get("format").asText());
    }

    private static JsonNode oracle() {
        try (InputStream in = ArchitecturesLlamaCppOracle.class.getResourceAsStream("/arch/llama-cpp.json")) {
            return new ObjectMapper().readTree(Objects.requireNonNull(in, "arch/llama-cpp.json is missing"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static List<String> files() {
        List<String> files = new ArrayList<>();
        ORACLE.get("models").forEach(m -> files.add(m.get("file").asText()));
        return files;
    }

    public static JsonNode entry(String file) {
        for (JsonNode m : ORACLE.get("models")) {
            if (m.get("file").asText().equals(file)) {
                return m;
            }
        }
        throw new IllegalArgumentException(file);
    }

    public static Path path(String file) {
        try {
            return Path.of(Objects.requireNonNull(ArchitecturesLlamaCppOracle.class.getResource("/arch/" + file), file).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Runs the prompt and llama.cpp's ids through fwd; returns how many greedy ids were compared. */
    public static int compareSteps(String file, Forward fwd, int[] prompt, JsonNode steps, double tolerance) {
        float[] logits = fwd.prefill(prompt, 0);
        int pos = prompt.length;
        int comparedIds = 0;
        double worstShare = 0;
        for (int s = 0; s < steps.size(); s++) {
            JsonNode step = steps.get(s);
            float[] expected = floats(step.get("logits"));
            assertEquals(expected.length, logits.length, "vocabulary size");
            float max = Float.NEGATIVE_INFINITY, min = Float.POSITIVE_INFINITY, second = Float.NEGATIVE_INFINITY;
            for (float v : expected) {
                if (v > max) { second = max; max = v; } else if (v > second) { second = v; }
                min = Math.min(min, v);
            }
            double spread = max - min;
            double worst = 0;
            int worstAt = -1;
            for (int i = 0; i < expected.length; i++) {
                double d = Math.abs(logits[i] - expected[i]);
                if (d > worst) { worst = d; worstAt = i; }
            }
            worstShare = Math.max(worstShare, worst / spread);
            assertTrue(worst <= tolerance * spread, String.format(
                    "%s step %d: logit %d is %.5f, llama.cpp %.5f; |diff| %.5f > %.2g of the spread %.4f",
                    file, s, worstAt, logits[worstAt], expected[worstAt], worst, tolerance, spread));
            int id = step.get("id").asInt();
            if (max - second > 2 * tolerance * spread) {
                assertEquals(id, argmax(logits), file + " step " + s + ": greedy id");
                comparedIds++;
            }
            logits = fwd.forward(id, pos++);
        }
        System.out.printf("%s: worst |diff| %.3g of the spread, %d ids compared%n", file, worstShare, comparedIds);
        return comparedIds;
    }

    public static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) best = i;
        }
        return best;
    }

    public static int[] ints(JsonNode a) {
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) r[i] = a.get(i).asInt();
        return r;
    }

    public static float[] floats(JsonNode a) {
        float[] r = new float[a.size()];
        for (int i = 0; i < r.length; i++) r[i] = (float) a.get(i).asDouble();
        return r;
    }
}
