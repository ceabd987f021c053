package dev.tandem.device.lpu;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.compiler.ModelShapes;
import dev.tandem.runtime.model.LlamaConfig;

import java.util.List;
import java.util.Locale;

/**
 * Predicted decode speed per user of large Llama-shaped models on the presets, from timing-only
 * runs of one whole decode step on the fewest chips that hold the int8 weights. For each it prints
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
                int chips = LlamaLayout.fewestChips(m.shape(), chip, positions);
                LlamaLayout layout = new LlamaLayout(m.shape(), chip, chips, positions);
                StaticProgram p = LlamaLowering.decodeStep(layout, 1, pos);
                RunStats r;
                try (ChipArray array = new ChipArray(chip, chips)) {
                    r = array.run(p, ChipArray.Mode.TIMING);
                }
                double wallMs = (System.nanoTime() - t0) / 1e6;
                // Streaming each stage's weights at full SRAM bandwidth, stages one after another.
                long streamCycles = 0;
                for (LlamaLayout.Stage st : layout.stages()) {
                    long maxBytes = 0;
                    for (int c : st.chips()) {
                        long bytes = 0;
                        for (LlamaLayout.Shard sh : layout.allShards()) {
                            if (sh.chip() == c && (sh.tensor() != ModelShape.Tensor.W1 && sh.tensor() != ModelShape.Tensor.W2
                                    && sh.tensor() != ModelShape.Tensor.W3 || sh.expert() < m.shape().activeExperts())) {
                                bytes += sh.bytes();
                            }
                        }
                        maxBytes = Math.max(maxBytes, bytes);
                    }
                    streamCycles += maxBytes / chip.memBytesPerCycle();
                }
                System.out.printf(Locale.ROOT, "%-10s %-13s chips=%4d stages=%2d cycles=%8d tok/s/user=%7.1f sram-stream=%4.0f%% of the step  %s  (lower+validate+run %.0f ms, %d instructions)%n",
                        chip.name(), m.name(), chips, layout.stages().size(), r.cycles(), 1 / r.seconds(),
                        100.0 * streamCycles / r.cycles(), r.summary().substring(r.summary().indexOf("busiest")), wallMs, r.instructions());
            }
        }
    }
}
