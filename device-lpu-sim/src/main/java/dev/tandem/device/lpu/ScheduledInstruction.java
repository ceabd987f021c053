package dev.tandem.device.lpu;

/** One instruction of a static program: issued at cycle on chip's unit. */
public record ScheduledInstruction(long cycle, int chip, Instruction instruction) {
    public ScheduledInstruction {
        if (cycle < 0 || chip < 0) {
            throw new IllegalArgumentException("cycle and chip must be >= 0, got cycle " + cycle + ", chip " + chip);
        }
    }

    public Unit unit() { return instruction.unit(); }

    /** "cycle 12, chip 0, MXM, Matvec[...]": how every error names an instruction. */
    public String where() {
        return "cycle " + cycle + ", chip " + chip + ", " + unit() + ", " + instruction;
    }
}
