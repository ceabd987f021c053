package dev.tandem.device.lpu;

/** A chip-to-chip link used by two transfers at once. */
public final class LinkConflictException extends ScheduleException {
    LinkConflictException(ScheduledInstruction at, String problem) {
        super(at, problem);
    }
}
