package dev.tandem.device.lpu;

/** An operand that names something the chip does not have (a chip, a stream register, a weight buffer). */
public final class OperandException extends ScheduleException {
    OperandException(ScheduledInstruction at, String problem) {
        super(at, problem);
    }
}
