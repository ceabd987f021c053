package dev.tandem.runtime.compiler;

import java.util.Optional;
import java.util.OptionalDouble;

/**
 * Exact op costs from a device module that can lower ops to its own programs (the LPU emulator's
 * cycles), found through {@link java.util.ServiceLoader}. When none answers, the compiler uses the
 * roofline on the device's spec and says so in the plan. A provider may also answer what a step
 * pays beyond its ops (moving activations between pipeline stages, the host's work per token) and
 * whether a stage holds its share of the model as the device places it; empty answers leave those
 * to the compiler's generic figures.
 */
public interface OpCostProvider {
    /** Name shown in the plan's cost sources, e.g. "lpu-sim cycles". */
    String name();

    /**
     * Seconds one run of {@code op} takes on {@code tensorParallel} devices of {@code group} working
     * together, or empty when this provider does not model that device.
     */
    OptionalDouble seconds(DeviceGroup group, ModelGraph graph, Op op, int tensorParallel);

    /**
     * What one run of op on one device of group spends in each class of kernel (matmul, attention,
     * rmsnorm, ...), by the class's label, summing to {@link #seconds}; empty when this provider does
     * not split the op (or does not model the device).
     */
    default Optional<java.util.Map<String, Double>> kernelSeconds(DeviceGroup group, ModelGraph graph, Op op, int tensorParallel) {
        return Optional.empty();
    }

    /**
     * Seconds to move rows of activations from pipeline stage {@code fromStage} to {@code toStage} of
     * one group (stages of tensorParallel devices, in placement order), or empty.
     */
    default OptionalDouble stageHopSeconds(DeviceGroup group, ModelGraph graph, int rows, int fromStage, int toStage,
                                           int tensorParallel) {
        return OptionalDouble.empty();
    }

    /**
     * Seconds the host spends per generated token when this group computes the head: the logits to
     * the host, sampling, the next token back. Empty when this provider does not model the device.
     */
    default OptionalDouble hostRoundTripSeconds(DeviceGroup group, ModelGraph graph) {
        return OptionalDouble.empty();
    }

    /**
     * Whether one pipeline stage of tensorParallel devices of group holds its share as the device
     * places it (weights, KV caches, scratch), or empty when this provider does not model the
     * device's memory (the compiler then counts bytes).
     */
    default Optional<Boolean> stageHolds(DeviceGroup group, ModelGraph graph, StageShare share, int tensorParallel) {
        return Optional.empty();
    }

    /**
     * What one pipeline stage of a group holds, in the executor's upload order: the embedding (first
     * stage), the output table (last stage), then attention and FFN blocks of consecutive layers.
     *
     * @param attentionBlocks attention blocks on the stage
     * @param ffnBlocks       FFN blocks on the stage
     * @param embedding       whether the stage holds the embedding table
     * @param head            whether it holds the output table and the head's buffers
     * @param maxPositions    KV cache positions of each attention block
     * @param rows            rows of block scratch (the prefill chunk when the group prefills, else the batch)
     */
    record StageShare(int attentionBlocks, int ffnBlocks, boolean embedding, boolean head, int maxPositions, int rows) {}
}
