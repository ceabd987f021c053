package dev.tandem.device.lpu;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.compiler.ModelShapes;
import dev.tandem.runtime.device.DeviceMemoryException;
import dev.tandem.runtime.model.LlamaConfig;

import java.util.List;
import java.util.Locale;

/**
 * Predicted decode speed per user of large Llama-shaped models on the presets, from timing-only
 * runs of one whole decode step ({@link LpuLlama}: the device's block programs, stage after stage,
 * the stage hops over the topology and the host's round trip) on the fewest chips whose
 * {@link StageLayout} holds the int8 weights; then the published GroqChip1 deployments against
 * this model's prediction for the same model and context, and how each deployment cost the model
 * adds to an ideal chip moves them. Run:
 * {@code java --add-modules jdk.incubator.vector -cp ... dev.tandem.device.lpu.LpuPredictions [positions]}.
 */
public final class LpuPredictions {
    private LpuPredictions() {}

    record Model(String name, ModelShape shape) {}

    /**
     * A published end-to-end figure: tokens/s per user of a model served on GroqChip1 systems.
     * @param fitted whether {@link ChipConfig#chipSyncCycles} of the preset was fitted to it
     */
    record Published(Model model, int context, double tokensPerSecond, String source, boolean fitted) {}

    /** Decode position of the published points: a chat turn of about a thousand tokens. */
    static final int PUBLISHED_POSITION = 1024;

    public static List<Model> models() {
        return List.of(dense("llama-2-7b"), dense("llama-2-70b"), mixtral());
    }

    private static Model dense(String name) {
        // The compiler's built-in shapes, so both report on the same hyper-parameters.
        return new Model(name, ModelShape.uniform(ModelShapes.shape(name).config(), WeightFormat.Q8_0));
    }

    private static Model mixtral() {
        LlamaConfig mix = ModelShapes.shape("mixtral-8x7b").config();
        return new Model("mixtral-8x7b", ModelShape.mixtureOfExperts(mix, WeightFormat.Q8_0, 8, 2));
    }

    /** Groq's published per-user speeds (docs/lpu.md cites each); the 70B point is the one fit. */
    public static List<Published> published() {
        String groq2024 = "Groq, Feb 2024 (TechPowerUp, 'Groq LPU ... 300 tokens/s', LLMPerf leaderboard)";
        return List.of(
                new Published(dense("llama-2-70b"), 4096, 300, groq2024 + "; 576 GroqChips (Groq)", true),
                new Published(dense("llama-2-7b"), 2048, 750, groq2024, false),
                new Published(mixtral(), 4096, 480, groq2024, false),
                new Published(dense("llama-3-8b"), 8192, 750, "Groq API, Llama 3.1 8B Instant, 2024-25 (third-party measurements)", false),
                new Published(dense("llama-3-70b"), 8192, 300, "Groq API, Llama 3/3.3 70B, 2024-25 (third-party measurements, 270-330)", false),
                // LLMPerf leaderboard (ray-project/llmperf-leaderboard, raw_data/summary/groq_70b.json, Jan 2024):
                // 550 prompt and 150 output tokens, 5 requests at a time; decode alone is 150 tokens over the
                // mean end-to-end 0.815 s less the mean TTFT 0.228 s (network included). Same deployment as the fit.
                new Published(dense("llama-2-70b"), 4096, 255, "LLMPerf leaderboard, Groq llama2-70b-4096, Jan 2024 (third-party)", false),
                // Llama 3.1 70B before speculative decoding, as Groq gave it when announcing llama-3.1-70b-specdec
                // (Oct 2024: "from 250 T/s to 1660 T/s"); the specdec figure itself is not expressible here.
                new Published(dense("llama-3-70b"), 8192, 250, "Groq, Oct 2024, Llama 3.1 70B without speculative decoding", false));
    }

    /** One step's prediction: chips, cycles, the host's part of them, programs spanning several chips of a node. */
    record Step(int chips, int stages, long cycles, long hostCycles, long streamCycles, String summary, long syncedPrograms) {
        double tokensPerSecond(ChipConfig chip) { return chip.clockHz() / cycles; }
    }

    /**
     * Places the model on the fewest chips that hold it and times one decode step at pos. The stage
     * layout does not count the head's matmul scratch (a few KiB), so where that is short on the
     * fewest chips the step runs on the next count (a chip more, up to a node more) that has room.
     */
    static Step step(ChipConfig chip, ModelShape shape, int positions, int pos) {
        int chips = StageLayout.fewestChips(shape, chip, positions);
        for (int more = 0; ; more++) {
            try {
                return step(chip, shape, positions, pos, chips + more);
            } catch (DeviceMemoryException e) {
                if (more == chip.chipsPerNode()) {
                    throw e;
                }
            }
        }
    }

    private static Step step(ChipConfig chip, ModelShape shape, int positions, int pos, int chips) {
        StageLayout layout = new StageLayout(shape, chip, chips, positions);
        List<StageLayout.Filled> placed = layout.placed();
        ChipArray[] arrays = LpuLlama.arrays(layout, false);
        try {
            List<LpuLlama.StepProgram> programs = LpuLlama.stepPrograms(layout, placed, 1, pos);
            RunStats r = LpuLlama.run(layout, programs, arrays, ChipArray.Mode.TIMING, k -> { });
            long synced = programs.stream().filter(p -> p.stage() != LpuLlama.HOP && spansChips(p.program())).count();
            return new Step(chips, layout.stages().size(), r.cycles(), chip.hostRoundTripCycles(shape.config().vocabSize()),
                    LpuLlama.streamCycles(layout, placed), r.summary(), synced);
        } finally {
            for (ChipArray a : arrays) {
                a.close();
            }
        }
    }

    private static boolean spansChips(StaticProgram p) {
        return p.instructions().stream().mapToInt(ScheduledInstruction::chip).distinct().count() > 1;
    }

    /**
     * The chip without the deployment costs, as the model was before they were added: two hops
     * between any two nodes, fp32 on the wire, no synchronisation (and the host's cycles are left
     * out by the caller).
     */
    static ChipConfig ideal(ChipConfig c) {
        return c.with("rackHops", "2").with("systemHops", "2").with("wireBytesPerElement", "4")
                .with("nodeSyncCycles", "0").with("chipSyncCycles", "0");
    }

    /** The cumulative rows from the ideal chip to the preset, each adding one deployment cost (label, what it adds). */
    static final List<String[]> SWEEP = List.of(new String[] {"ideal chip (before)", "0"}, new String[] {"+ topology hops", "h"},
            new String[] {"+ wire precision", "w"}, new String[] {"+ node sync", "n"}, new String[] {"+ host round trip", "r"},
            new String[] {"+ chip sync (fit)", "c"});

    /** Arguments: [positions] for every section, or one of the sections' names: presets, published, sweep. */
    public static void main(String[] args) {
        String only = args.length > 0 && !args[0].matches("\\d+") ? args[0] : "";
        int positions = args.length > 0 && only.isEmpty() ? Integer.parseInt(args[0]) : 2048;
        if (only.isEmpty() || only.equals("presets")) {
            presets(positions);
        }
        if (only.isEmpty() || only.equals("published")) {
            published(ChipConfig.GROQCHIP1);
        }
        if (only.isEmpty() || only.equals("sweep")) {
            sweep(ChipConfig.GROQCHIP1);
        }
    }

    private static void presets(int positions) {
        int pos = positions / 2;
        System.out.printf(Locale.ROOT, "## Predictions (int8 weights, context %d, decode at position %d)%n", positions, pos);
        for (ChipConfig chip : ChipConfig.PRESETS) {
            for (Model m : models()) {
                long t0 = System.nanoTime();
                try {
                    Step s = step(chip, m.shape(), positions, pos);
                    System.out.printf(Locale.ROOT, "| %s | %s | %d | %d | %,d | %,.0f | %.0f %% | %.0f %% | (%.0f ms) %s%n", chip.name(), m.name(),
                            s.chips(), s.stages(), s.cycles(), s.tokensPerSecond(chip), 100.0 * s.streamCycles() / s.cycles(),
                            100.0 * s.hostCycles() / s.cycles(), (System.nanoTime() - t0) / 1e6, s.summary().substring(s.summary().indexOf("busiest")));
                } catch (IllegalArgumentException e) {
                    System.out.printf(Locale.ROOT, "| %s | %s | %s |%n", chip.name(), m.name(), e.getMessage());
                }
            }
        }
        System.out.println();
    }

    private static void published(ChipConfig chip) {
        System.out.println("## Published GroqChip1 deployments against the model (decode at position " + PUBLISHED_POSITION + ")");
        for (Published p : published()) {
            Step ideal, now;
            try {
                ideal = step(ideal(chip), p.model().shape(), p.context(), PUBLISHED_POSITION);
                now = step(chip, p.model().shape(), p.context(), PUBLISHED_POSITION);
            } catch (DeviceMemoryException e) {
                System.out.printf(Locale.ROOT, "| %s, context %d | %.0f | not predicted: %s |%n", p.model().name(), p.context(),
                        p.tokensPerSecond(), e.getMessage());
                continue;
            }
            if (p.fitted()) {
                // chipSyncCycles is paid once by every program spanning several chips of a node: solve for the published cycles.
                Step unsynced = step(chip.with("chipSyncCycles", "0"), p.model().shape(), p.context(), PUBLISHED_POSITION);
                double target = chip.clockHz() / p.tokensPerSecond();
                System.out.printf(Locale.ROOT, "fit: chipSyncCycles = (%.0f - %d) / %d programs = %.1f (preset: %d)%n", target,
                        unsynced.cycles(), unsynced.syncedPrograms(), (target - unsynced.cycles()) / unsynced.syncedPrograms(),
                        chip.chipSyncCycles());
            }
            double before = chip.clockHz() / (ideal.cycles() - ideal.hostCycles());
            System.out.printf(Locale.ROOT, "| %s, context %d | %.0f | %.0f (%+.0f %%) | %.0f (%+.0f %%) on %d chips | %s | multi-chip programs %d%n",
                    p.model().name(), p.context(), p.tokensPerSecond(), before, 100 * (before / p.tokensPerSecond() - 1),
                    now.tokensPerSecond(chip), 100 * (now.tokensPerSecond(chip) / p.tokensPerSecond() - 1), now.chips(),
                    p.fitted() ? "fit" : "judged", now.syncedPrograms());
        }
        System.out.println();
    }

    private static void sweep(ChipConfig preset) {
        System.out.println("## Each deployment cost, added in turn (" + preset.name() + "; context 2048, decode at position 1024)");
        for (Model m : models()) {
            ChipConfig c = ideal(preset);
            for (String[] row : SWEEP) {
                c = switch (row[1]) {
                    case "h" -> c.with("systemHops", "" + preset.systemHops()).with("rackHops", "" + preset.rackHops());
                    case "w" -> c.with("wireBytesPerElement", "" + preset.wireBytesPerElement());
                    case "n" -> c.with("nodeSyncCycles", "" + preset.nodeSyncCycles());
                    case "c" -> c.with("chipSyncCycles", "" + preset.chipSyncCycles());
                    default -> c;
                };
                Step s = step(c, m.shape(), 2048, 1024);
                boolean host = row[1].equals("r") || row[1].equals("c");
                long cycles = host ? s.cycles() : s.cycles() - s.hostCycles();
                System.out.printf(Locale.ROOT, "| %s | %s | %d | %,d | %,.0f |%n", m.name(), row[0], s.chips(), cycles, preset.clockHz() / cycles);
            }
        }
    }
}
