package dev.tandem.device.lpu;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.compiler.ModelShapes;
import dev.tandem.runtime.model.LlamaConfig;

import java.util.List;
import java.util.Locale;

/**
 * Predicted decode speed per user of large Llama-shaped models on the presets, from timing-only
 * runs of one whole decode step ({@link LpuLlama}: the device's block programs, stage after stage)
 * on the fewest chips whose {@link StageLayout} holds the int8 weights. For each it prints
 * what bounds the step: the per-chip SRAM streaming time of the busiest chip's weights against the
 * step's cycles tells whether SRAM bandwidth or the dependency chain (and C2C latency) dominates.
 * Run: {@code java --add-modules jdk.incubator.vector -cp ... dev.tandem.device.lpu.LpuPredictions [positions]}.
 */
public final class LpuPredictions {
    private LpuPredictions() {}

    record Model(String name, ModelShape shape) {}

    public static List<Model> models() {
        // The compiler's built-in shapes, so both report on the same hyper-parameters.
        LlamaConfig l7 = ModelShapes.shape("llama-2-7b").config();
        LlamaConfig l70 = ModelShapes.shape("llama-2-70b").config();
        LlamaConfig mix = ModelShapes.shape("mixtral-8x7b").config();
        return List.of(new Model("llama-2-7b", ModelShape.uniform(l7, WeightFormat.Q8_0)),
                new Model("llama-2-70b", ModelShape.uniform(l70, WeightFormat.Q8_0)),
                new Model("mixtral-8x7b", ModelShape.mixtureOfExperts(mix, WeightFormat.Q8_0, 8, 2)));
    }

    public static void main(String[] args) {
        int positions = args.length > 0 ? Integer.parseInt(args[0]) : 2048;
        int pos = positions / 2;
        for (ChipConfig chip : ChipConfig.PRESETS) {
            for (Model m : models()) {
                long t0 = System.nanoTime();
                int chips;
                try {
                    chips = StageLayout.fewestChips(m.shape(), chip, positions);
                } catch (IllegalArgumentException e) {
                    // A block no node holds: e.g. every expert of a mixture's FFN with its own 64-row scratch.
                    System.out.printf(Locale.ROOT, "%-10s %-13s %s%n", chip.name(), m.name(), e.getMessage());
                    continue;
                }
                StageLayout layout = new StageLayout(m.shape(), chip, chips, positions);
                List<StageLayout.Filled> placed = layout.placed();
                ChipArray[] arrays = LpuLlama.arrays(layout, false);
                RunStats r;
                try {
                    r = LpuLlama.run(layout, LpuLlama.stepPrograms(layout, placed, 1, pos), arrays, ChipArray.Mode.TIMING, k -> { });
                } finally {
                    for (ChipArray a : arrays) {
                        a.close();
                    }
                }
                double wallMs = (System.nanoTime() - t0) / 1e6;
                long streamCycles = LpuLlama.streamCycles(layout, placed);
                System.out.printf(Locale.ROOT, "%-10s %-13s chips=%4d stages=%2d cycles=%8d tok/s/user=%7.1f sram-stream=%4.0f%% of the step  %s  (place+lower+validate+run %.0f ms, %d instructions)%n",
                        chip.name(), m.name(), chips, layout.stages().size(), r.cycles(), 1 / r.seconds(),
                        100.0 * streamCycles / r.cycles(), r.summary().substring(r.summary().indexOf("busiest")), wallMs, r.instructions());
            }
        }
    }
}
