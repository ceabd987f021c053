package dev.tandem.device.lpu;

/**
 * A read before its producer's result is there (a stream register or SRAM range read before the
 * producer's latency has elapsed, a receive before its send has arrived), or a write over data an
 * earlier instruction is still reading.
 */
public final class HazardException extends ScheduleException {
    HazardException(ScheduledInstruction at, String problem) {
        super(at, problem);
    }
}
