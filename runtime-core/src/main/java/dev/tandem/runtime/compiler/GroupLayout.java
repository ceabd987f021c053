package dev.tandem.runtime.compiler;

/**
 * How a plan uses a device group: {@code stages} pipeline stages of contiguous layers, each on
 * {@code tensorParallel} devices in lockstep.
 */
record GroupLayout(DeviceGroup group, int tensorParallel, int stages, int layers) {

    int stageOf(int layer) {
        int l = Math.clamp(layer, 0, layers - 1);
        return (int) ((long) l * stages / layers);
    }

    String stageLabel(int stage) { return group.label(stage * tensorParallel, tensorParallel); }

    int devicesUsed() { return tensorParallel * stages; }
}
