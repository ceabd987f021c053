package dev.tandem.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The project's ../shared folder (models and references). Tests fail, never skip, when it is missing:
 * every developer and CI has it.
 */
public final class SharedData {
    private SharedData() {}

    public static Path root() {
        String prop = System.getProperty("tandem.shared");
        Path root = prop != null ? Path.of(prop) : Path.of("..", "shared");
        if (!Files.isDirectory(root.resolve("models")) || !Files.isDirectory(root.resolve("reference"))) {
            throw new IllegalStateException("../shared (models and references) not found at " + root.toAbsolutePath()
                    + "; set -Dtandem.shared=PATH");
        }
        return root;
    }

    /** A file under ../shared, e.g. "models/llama2-tokenizer.bin". */
    public static Path file(String relative) {
        return existing(root().resolve(relative));
    }

    public static Path model(String name) {
        return existing(root().resolve("models").resolve(name));
    }

    public static JsonNode reference(String name) {
        try {
            return new ObjectMapper().readTree(existing(root().resolve("reference").resolve(name)).toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path existing(Path p) {
        if (!Files.isRegularFile(p)) {
            throw new IllegalStateException("shared file missing: " + p.toAbsolutePath());
        }
        return p;
    }

    public static int[] ints(JsonNode array) {
        int[] r = new int[array.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = array.get(i).asInt();
        }
        return r;
    }

    public static double[] doubles(JsonNode array) {
        double[] r = new double[array.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = array.get(i).asDouble();
        }
        return r;
    }

    /** ||actual - expected||₂ / ||expected||₂ */
    public static double relativeL2(float[] actual, double[] expected) {
        if (actual.length != expected.length) {
            throw new AssertionError("length " + actual.length + " != expected " + expected.length);
        }
        double num = 0, den = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = actual[i] - expected[i];
            num += d * d;
            den += expected[i] * expected[i];
        }
        return Math.sqrt(num / den);
    }
}
