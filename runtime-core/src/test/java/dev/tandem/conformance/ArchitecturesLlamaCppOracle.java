package dev.tandem.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

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

    /**
     * Allowed |Tandem - llama.cpp| per logit as a share of the step's logit spread, by weight format;
     * ArchitecturesLlamaCppTest (dev.tandem.runtime.model) says what was measured and why each.
     */
    public static final double F32 = 1e-5, F16 = 1e-3, QUANT = 4e-2, KQUANT = 1e-3;

    private static final java.util.Map<String, Double> TOLERANCE =
            java.util.Map.of("F32", F32, "F16", F16, "Q8_0", QUANT, "Q4_0", QUANT, "Q4_K", KQUANT);

    /** The tolerance of the entry's format. */
    public static double tolerance(JsonNode entry) {
        return TOLERANCE.get(entry.get("format").asText());
    }

    private static JsonNode oracle() {
        try (InputStream in = ArchitecturesLlamaCppOracle.class.getResourceAsStream("/arch/llama-cpp.json")) {
            return new ObjectMapper().readTree(Objects.requireNonNull(in, "arch/llama-cpp.json is missing"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Every file, except that under tandem.quantDot=float (runtime-core's float-quant-dot execution,
     * which does not include the architecture tests unless -Dtest names them) the Q8_0/Q4_0 files are
     * left out: llama.cpp quantizes their activations to 8 bits, Tandem then does not, and a mixture's
     * routing may tip at a near-tie between the two, which no logit tolerance covers.
     */
    public static List<String> files() {
        List<String> files = new ArrayList<>();
        for (JsonNode m : ORACLE.get("models")) {
            String format = m.get("format").asText();
            if (dev.tandem.kernels.KernelConfig.integerDot() || !(format.equals("Q8_0") || format.equals("Q4_0"))) {
                files.add(m.get("file").asText());
            }
        }
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

    /**
     * The file as a path: in place when the resources are a directory (this module's tests), copied
     * out of the test jar once otherwise (device modules' tests read it from the jar).
     */
    public static synchronized Path path(String file) {
        java.net.URL url = Objects.requireNonNull(ArchitecturesLlamaCppOracle.class.getResource("/arch/" + file), file);
        try {
            if (url.getProtocol().equals("file")) {
                return Path.of(url.toURI());
            }
            if (extracted == null) {
                extracted = java.nio.file.Files.createTempDirectory("tandem-arch");
                extracted.toFile().deleteOnExit();
            }
            Path out = extracted.resolve(file);
            if (!java.nio.file.Files.exists(out)) {
                try (InputStream in = url.openStream()) {
                    java.nio.file.Files.copy(in, out);
                }
                out.toFile().deleteOnExit();
            }
            return out;
        } catch (URISyntaxException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Path extracted;

    /** Runs the prompt and llama.cpp's ids through fwd; returns how many greedy ids were compared. */
    /** A forward pass as the comparison sees it (the exec package's Forward is not exported to device modules). */
    public interface Steps {
        /** Logits after the prompt, which starts at position 0. */
        float[] prefill(int[] prompt);

        /** Logits after token at pos. */
        float[] forward(int token, int pos);
    }

    public static int compareSteps(String file, Steps fwd, int[] prompt, JsonNode steps, double tolerance) {
        float[] logits = fwd.prefill(prompt);
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

    /**
     * Greedy generation in a session on device: llama.cpp's ids, and its logits after the prompt
     * within tolerance of their spread; or, when the model's attention is not the Llama block and the
     * device does not run such attention, {@link dev.tandem.runtime.device.UnsupportedBlockException}
     * at open.
     */
    public static void checkSession(dev.tandem.runtime.device.Device device, String file, boolean runsAttentionOptions,
                                    double tolerance) {
        JsonNode m = entry(file);
        int[] prompt = ints(m.get("prompt"));
        JsonNode steps = m.get("steps");
        int[] expected = new int[steps.size()];
        for (int s = 0; s < expected.length; s++) expected[s] = steps.get(s).get("id").asInt();
        try (dev.tandem.runtime.Model model = dev.tandem.runtime.Model.load(path(file))) {
            var c = model.config();
            boolean llamaAttention = c.arch().attentionFeatures(c).isEmpty();
            if (!runsAttentionOptions && !llamaAttention) {
                org.junit.jupiter.api.Assertions.assertThrows(dev.tandem.runtime.device.UnsupportedBlockException.class,
                        () -> dev.tandem.runtime.Tandem.open(model, device, prompt.length + expected.length).close(), file);
                return;
            }
            try (dev.tandem.runtime.Session s = dev.tandem.runtime.Tandem.open(model, device, prompt.length + expected.length)) {
                dev.tandem.runtime.GenerationResult r = s.generate(prompt,
                        dev.tandem.runtime.generate.Sampling.greedy().maxTokens(expected.length).stopAtEos(false), null);
                float[] want = floats(steps.get(0).get("logits"));
                double max = Double.NEGATIVE_INFINITY, min = Double.POSITIVE_INFINITY, worst = 0;
                for (int i = 0; i < want.length; i++) {
                    max = Math.max(max, want[i]);
                    min = Math.min(min, want[i]);
                    worst = Math.max(worst, Math.abs(r.promptLogits()[i] - want[i]));
                }
                assertTrue(worst <= tolerance * (max - min), file + ": logits after the prompt differ by " + worst
                        + ", more than " + tolerance + " of the spread " + (max - min));
                org.junit.jupiter.api.Assertions.assertArrayEquals(expected, r.generatedIds(), file + ": greedy ids");
            }
        }
    }
}
