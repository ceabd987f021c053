package dev.tandem.device.lpu;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * What the compiler produces and the chips run: the chip config, the number of chips, the SRAM
 * allocations, and every instruction with its issue cycle, chip and unit. Instructions are kept in
 * issue order (ties in the order given), which is also the order a full run executes them in.
 */
public record StaticProgram(ChipConfig config, int chips, List<Allocation> allocations,
                            List<ScheduledInstruction> instructions) {
    public StaticProgram {
        if (chips < 1) {
            throw new IllegalArgumentException("a program needs at least one chip, got " + chips);
        }
        allocations = List.copyOf(allocations);
        List<ScheduledInstruction> sorted = new ArrayList<>(instructions);
        sorted.sort(Comparator.comparingLong(ScheduledInstruction::cycle)); // stable: ties keep their order
        instructions = List.copyOf(sorted);
    }

    /**
     * The program's length: the cycles its chips wait to align before the first instruction
     * ({@link ChipConfig#syncCycles}, when it spans several chips), then the cycle by which every
     * instruction has finished (issue + latency).
     */
    public long cycles() {
        long end = 0;
        int first = Integer.MAX_VALUE, last = -1;
        for (ScheduledInstruction s : instructions) {
            end = Math.max(end, s.cycle() + s.instruction().latency(config, s.chip()));
            first = Math.min(first, s.chip());
            last = Math.max(last, s.chip());
        }
        return last < 0 ? 0 : config.syncCycles(first, last) + end;
    }
}
