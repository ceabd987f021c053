package dev.tandem.runtime.compiler;

import java.util.List;

/**
 * How a plan uses a device group: {@code stages} pipeline stages of contiguous layers, each on
 * {@code tensorParallel} devices in lockstep. The layers split evenly over the stages, or at
 * {@code stageStarts} (the first layer of each layer stage) where the compiler cut them to what each
 * stage's devices hold (an LPU stage with the embedding table holds fewer layers). Where a table
 * does not fit beside even one layer, it takes a stage of its own that holds no layer: the first
 * stage ({@code embeddingAlone}) or the last ({@code headAlone}), its rows split over the stage's
 * devices as the device places a table.
 *
 * @param stageStarts null for an even split; else one ascending first layer per layer stage, from 0
 */
public record GroupLayout(DeviceGroup group, int tensorParallel, int stages, int layers, List<Integer> stageStarts,
                          boolean embeddingAlone, boolean headAlone) {
    public GroupLayout {
        int tableStages = (embeddingAlone ? 1 : 0) + (headAlone ? 1 : 0);
        if (tableStages > 0 && stageStarts == null) {
            throw new IllegalArgumentException("a table's own stage needs the layer stages' starts");
        }
        if (stageStarts != null) {
            stageStarts = List.copyOf(stageStarts);
            int layerStages = stages - tableStages;
            if (stageStarts.size() != layerStages || stageStarts.isEmpty() || stageStarts.getFirst() != 0) {
                throw new IllegalArgumentException("stage starts " + stageStarts + " must give " + layerStages + " layer stages from layer 0");
            }
            for (int s = 1; s < layerStages; s++) {
                if (stageStarts.get(s) <= stageStarts.get(s - 1) || stageStarts.get(s) >= layers) {
                    throw new IllegalArgumentException("stage starts " + stageStarts + " must ascend within " + layers + " layers");
                }
            }
        }
    }

    /** Layers cut at stageStarts, the tables beside the first and last layers. */
    public GroupLayout(DeviceGroup group, int tensorParallel, int stages, int layers, List<Integer> stageStarts) {
        this(group, tensorParallel, stages, layers, stageStarts, false, false);
    }

    /** Layers split evenly over the stages. */
    public GroupLayout(DeviceGroup group, int tensorParallel, int stages, int layers) {
        this(group, tensorParallel, stages, layers, null);
    }

    /** The stage running a layer; -1 (the embedding) is the first, nLayers (the head) the last. */
    public int stageOf(int layer) {
        if (layer < 0 && embeddingAlone) {
            return 0;
        }
        if (layer >= layers && headAlone) {
            return stages - 1;
        }
        int l = Math.clamp(layer, 0, layers - 1);
        if (stageStarts == null) {
            return (int) ((long) l * stages / layers);
        }
        int s = stageStarts.size() - 1;
        while (stageStarts.get(s) > l) {
            s--;
        }
        return s + (embeddingAlone ? 1 : 0);
    }

    /** "lp30[2-3]": the devices of a stage. */
    public String stageLabel(int stage) { return group.label(stage * tensorParallel, tensorParallel); }

    public int devicesUsed() { return tensorParallel * stages; }
}
