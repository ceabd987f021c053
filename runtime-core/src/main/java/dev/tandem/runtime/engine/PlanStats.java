package dev.tandem.runtime.engine;

/**
 * What an engine serving a compiled plan measured against the plan, so far.
 *
 * @param plan               the plan in words: policy, pool and which group runs what
 * @param decodeSteps        steps that ran decode rows only (the steps the compiler predicts)
 * @param predictedSeconds   the compiler's prediction for those steps, each at its own rows and
 *                           furthest position, summed
 * @param measuredSeconds    their wall-clock time, summed
 * @param microBatchedSteps  steps whose decode rows ran as two ping-ponging micro-batches
 * @param exactBlocks        attention and FFN blocks on cycle-counting (emulated) devices that took
 *                           exactly their predicted cycles at the rows they ran
 * @param inexactBlocks      those that did not (0 unless the emulator and its cost provider disagree)
 * @param firstInexact       the first inexact block, in words; null when there was none
 */
public record PlanStats(String plan, long decodeSteps, double predictedSeconds, double measuredSeconds, long microBatchedSteps,
                        long exactBlocks, long inexactBlocks, String firstInexact) {}
