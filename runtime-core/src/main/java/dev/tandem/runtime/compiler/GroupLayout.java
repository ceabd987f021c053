package dev.tandem.runtime.compiler;

import java.util.List;

/**
 * How a plan uses a device group: {@code stages} pipeline stages of contiguous layers, each on
 * {@code tensorParallel} devices in lockstep. The layers split evenly over the stages, or at
 * {@code stageStarts} (the first layer of each stage) where the compiler cut them to what each
 * stage's devices hold (an LPU stage with the embedding table holds fewer layers).
 *
 * @param stageStarts null for an even split; else one ascending first layer per stage, from 0
 */
public record GroupLayout(DeviceGroup group, int tensorParallel, int stages, int layers, List<Integer> stageStarts) {
    public GroupLayout {
        if (stageStarts != null) {
            stageStarts = List.copyOf(stageStarts);
            if (stageStarts.size() != stages || stageStarts.getFirst() != 0) {
                throw new IllegalArgumentException("stage starts " + stageStarts + " must give " + stages + " stages from layer 0");
            }
            for (int s = 1; s < stages; s++) {
                if (stageStarts.get(s) <= stageStarts.get(s - 1) || stageStarts.get(s) >= layers) {
                    throw new IllegalArgumentException("stage starts " + stageStarts + " must ascend within " + layers + " layers");
                }
            }
        }
    }

    /** Layers split evenly over the stages. */
    public GroupLayout(DeviceGroup group, int tensorParallel, int stages, int layers) {
        this(group, tensorParallel, stages, layers, null);
    }

    /** The stage running a layer; -1 (the embedding) is the first, nLayers (the head) the last. */
    public int stageOf(int layer) {
        int l = Math.clamp(layer, 0, layers - 1);
        if (stageStarts == null) {
            return (int) ((long) l * stages / layers);
        }
        int s = stages - 1;
        while (stageStarts.get(s) > l) {
            s--;
        }
        return s;
    }

    /** "lp30[2-3]": the devices of a stage. */
    public String stageLabel(int stage) { return group.label(stage * tensorParallel, tensorParallel); }

    public int devicesUsed() { return tensorParallel * stages; }
}
