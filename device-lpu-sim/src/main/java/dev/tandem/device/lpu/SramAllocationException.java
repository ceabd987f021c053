package dev.tandem.device.lpu;

/** An SRAM allocation out of bounds or overlapping a live one, or an access outside every live allocation. */
public final class SramAllocationException extends ScheduleException {
    SramAllocationException(ScheduledInstruction at, String problem) {
        super(at, problem);
    }

    SramAllocationException(Allocation a, String problem) {
        super("cycle " + a.from() + ", chip " + a.chip() + ", " + Unit.MEM + ", allocation " + a, problem);
    }
}
