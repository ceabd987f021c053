package dev.tandem.runtime.engine;

/**
 * What runs one engine step: the model on one device ({@link BatchForward}) or a compiled plan's
 * placement ({@link PlanStep}). Step-thread only.
 */
interface StepForward extends AutoCloseable {
    /** Runs the step's rows; returns the logits of its logit rows, (step.logitRows().length, vocab), in a fresh array. */
    float[] step(Scheduler.Step step);

    @Override
    void close();
}
