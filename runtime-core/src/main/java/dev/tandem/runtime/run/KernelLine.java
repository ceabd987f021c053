package dev.tandem.runtime.run;

/**
 * One class of kernel (see {@link dev.tandem.runtime.profile.KernelClass}) in a present device's
 * decode step: what the profile predicts for it and what it measured, the median over the steps of
 * the split pass.
 *
 * @param label            the class, e.g. "matmul", "attention", "between kernels"
 * @param predictedSeconds predicted seconds in a step (median); 0 for time no profile point prices
 * @param measuredSeconds  measured seconds in a step (median)
 */
public record KernelLine(String label, double predictedSeconds, double measuredSeconds) {
    /** measured / predicted, NaN when nothing was predicted. */
    public double ratio() {
        return predictedSeconds > 0 ? measuredSeconds / predictedSeconds : Double.NaN;
    }
}
