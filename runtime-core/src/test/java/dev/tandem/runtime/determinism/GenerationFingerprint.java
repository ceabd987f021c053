package dev.tandem.runtime.determinism;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.Session;
import dev.tandem.runtime.Tandem;
import dev.tandem.runtime.exec.Forward;
import dev.tandem.runtime.exec.ReferenceForward;

import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Runs the same generations over and over in one JVM and prints one line per model and generation:
 * for every step, the id seeded temperature sampling chose, the id greedy decoding chose, and a
 * digest of the bits of both runs' logits at that step. {@link JitStateDeterminismTest} runs it in
 * fresh JVMs under different compilation modes, so the first generation runs interpreted (or C1, or
 * C2 code) and later ones run whatever the JIT has compiled by then. A run with fewer steps prints
 * a prefix of a longer run's line.
 *
 * <p>Usage: {@code GenerationFingerprint GENERATIONS STEPS MODEL...}, MODEL a file or "embedded";
 * each line is {@code "fingerprint MODEL S/G/DIGEST..."}.
 */
public final class GenerationFingerprint {
    private GenerationFingerprint() {}

    private static final int[] PROMPT = {1, 72, 101, 108};
    /** Starts every line it prints, which -XX:+PrintCompilation's lines on the same stdout do not. */
    static final String PREFIX = "fingerprint ";

    public static void main(String[] args) throws Exception {
        int generations = Integer.parseInt(args[0]);
        int steps = Integer.parseInt(args[1]);
        for (int g = 0; g < generations; g++) {
            for (int m = 2; m < args.length; m++) {
                try (Model model = args[m].equals("embedded") ? Model.synthetic() : Model.load(Path.of(args[m]))) {
                    System.out.println(PREFIX + args[m] + fingerprint(model, steps));
                }
            }
        }
        System.out.flush();
    }

    /** " S/G/DIGEST" per step: sampled id, greedy id, the first 8 bytes of SHA-256 over both logits. */
    static String fingerprint(Model model, int steps) throws NoSuchAlgorithmException {
        List<float[]> sampledLogits = new ArrayList<>();
        List<float[]> greedyLogits = new ArrayList<>();
        int[] sampled = generate(model, Sampling.temperature(1.0f, 42), steps, sampledLogits);
        int[] greedy = generate(model, Sampling.greedy(), steps, greedyLogits);
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < steps; i++) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (float[] logits : List.of(sampledLogits.get(i), greedyLogits.get(i))) {
                for (float v : logits) {
                    int bits = Float.floatToRawIntBits(v);
                    digest.update(new byte[] {(byte) bits, (byte) (bits >> 8), (byte) (bits >> 16), (byte) (bits >> 24)});
                }
            }
            line.append(' ').append(sampled[i]).append('/').append(greedy[i]).append('/')
                    .append(HexFormat.of().formatHex(digest.digest(), 0, 8));
        }
        return line.toString();
    }

    private static int[] generate(Model model, Sampling sampling, int steps, List<float[]> logitsSeen) {
        try (Session s = Tandem.open(model, recording(model, logitsSeen), "cpu")) {
            return s.generate(PROMPT, sampling.maxTokens(steps).stopAtEos(false), null).generatedIds();
        }
    }

    /** The CPU reference forward, keeping a copy of every logits vector it returns. */
    private static Forward recording(Model model, List<float[]> seen) {
        Forward ref = new ReferenceForward(model.config(), model.weights(), model.ropeInvFreq(), 64,
                ReferenceForward.DEFAULT_PREFILL_CHUNK);
        int vocab = model.config().vocabSize();
        return new Forward() {
            @Override public float[] prefill(int[] tokens, int startPos) { return keep(ref.prefill(tokens, startPos)); }
            @Override public float[] forward(int token, int pos) { return keep(ref.forward(token, pos)); }
            @Override public int maxPositions() { return ref.maxPositions(); }
            @Override public void close() { ref.close(); }

            private float[] keep(float[] logits) {
                seen.add(java.util.Arrays.copyOf(logits, vocab));
                return logits;
            }
        };
    }
}
