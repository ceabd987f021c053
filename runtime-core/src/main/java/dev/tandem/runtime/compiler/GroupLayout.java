package dev.tandem.runtime.compiler;

/**
 * How a plan uses a device group: {@code stages} pipeline stages of contiguous layers, each on
 * {@code tensorParallel} devices in lockstep.
 */
public record GroupLayout(DeviceGroup group, int tensorParallel, int stages, int layers) {

    /** The stage running a layer; -1 (the embedding) is the first, nLayers (the head) the last. */
    public int stageOf(int layer) {
        int l = Math.clamp(layer, 0, layers - 1);
        return (int) ((long) l * stages / layers);
    }

    /** "lp30[2-3]": the devices of a stage. */
    public String stageLabel(int stage) { return group.label(stage * tensorParallel, tensorParallel); }

    public int devicesUsed() { return tensorParallel * stages; }
}
