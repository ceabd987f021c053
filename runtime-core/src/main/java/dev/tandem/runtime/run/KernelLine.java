package dev.tandem.runtime.run;

/**
 * One class of kernel (see {@link dev.tandem.runtime.profile.KernelClass}) in a present device's
 * decode step: what the profile predicts for it and what it measured, the median over the steps of
 * the split pass. The last line of a breakdown is {@link #WHOLE_STEP}: the step the classes add up to.
 *
 * @param label            the class, e.g. "matmul", "attention", "between kernels"
 * @param predictedSeconds predicted seconds in a step (median); 0 for time no profile point prices
 * @param measuredSeconds  measured seconds in a step (median)
 */
public record KernelLine(String label, double predictedSeconds, double measuredSeconds) {
    /**
     * The label of a breakdown's last line: the whole step, predicted as the sum of its classes and
     * measured as the split pass's step without the kernel timers' own markers (medians over the steps,
     * so the classes' medians add up to it only roughly).
     */
    public static final String WHOLE_STEP = "whole step";

    /** measured / predicted, NaN when nothing was predicted. */
    public double ratio() {
        return predictedSeconds > 0 ? measuredSeconds / predictedSeconds : Double.NaN;
    }
}
