package dev.tandem.device.lpu;

import dev.tandem.runtime.error.TandemException;

/**
 * A static program that must not run. Raised by the validator before anything executes; the
 * message names the cycle, the chip, the unit and the instruction at fault.
 */
public abstract sealed class ScheduleException extends TandemException
        permits UnitConflictException, HazardException, SramAllocationException, LinkConflictException,
                OperandException {
    private final transient ScheduledInstruction at;

    ScheduleException(ScheduledInstruction at, String problem) {
        super(at.where() + ": " + problem);
        this.at = at;
    }

    /** For an allocation no instruction touches: where names the cycle, chip, unit and allocation. */
    ScheduleException(String where, String problem) {
        super(where + ": " + problem);
        this.at = null;
    }

    /** The offending instruction (null when the fault is an allocation that nothing touches). */
    public ScheduledInstruction at() { return at; }
}
