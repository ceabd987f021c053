package dev.tandem.device.lpu;

/** Two instructions occupy one unit of one chip at once. */
public final class UnitConflictException extends ScheduleException {
    UnitConflictException(ScheduledInstruction at, ScheduledInstruction busy, long busyUntil) {
        super(at, "the unit is busy until cycle " + busyUntil + " with " + busy.instruction() + " issued at cycle " + busy.cycle());
    }
}
