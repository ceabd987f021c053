package dev.tandem.device.lpu;

import dev.tandem.device.lpu.Instruction.BinaryOp;
import dev.tandem.device.lpu.Instruction.C2cRecv;
import dev.tandem.device.lpu.Instruction.C2cSend;
import dev.tandem.device.lpu.Instruction.MemRead;
import dev.tandem.device.lpu.Instruction.MemWrite;
import dev.tandem.device.lpu.Instruction.VxmBinary;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each validation error, provoked by a hand-written bad program: the type, a message naming the
 * cycle, chip, unit and instruction, and no execution at all (the SRAM was never even allocated,
 * and a marker written first by a valid instruction is absent).
 */
class ProgramValidatorTest {
    private static final ChipConfig C = ChipConfig.GROQCHIP1;
    private static final long A = 0, B = 4096;
    private static final List<Allocation> TWO = List.of(
            new Allocation(0, "a", A, 4096, 0, Allocation.FOREVER), new Allocation(0, "b", B, 4096, 0, Allocation.FOREVER),
            new Allocation(1, "a", A, 4096, 0, Allocation.FOREVER));

    private static ScheduledInstruction at(long cycle, int chip, Instruction i) {
        return new ScheduledInstruction(cycle, chip, i);
    }

    /** Runs the program and checks that it failed before anything executed. */
    private static <T extends ScheduleException> T rejects(Class<T> type, ScheduledInstruction culprit, List<Allocation> allocations,
                                                            ScheduledInstruction... instructions) {
        StaticProgram p = new StaticProgram(C, 2, allocations, List.of(instructions));
        try (ChipArray chips = new ChipArray(C, 2)) {
            T e = assertThrows(type, () -> chips.run(p, ChipArray.Mode.FULL));
            String m = e.getMessage();
            assertTrue(m.contains("cycle " + culprit.cycle()) && m.contains("chip " + culprit.chip())
                    && m.contains(culprit.unit().name()) && m.contains(culprit.instruction().toString()), m);
            assertFalse(chips.sramAllocated(0) || chips.sramAllocated(1), "something executed: SRAM was touched");
            return e;
        }
    }

    @Test
    void twoInstructionsOnOneUnit() {
        ScheduledInstruction first = at(0, 0, new MemRead(A, 1000, 0, 0)); // 4000 bytes: 1 cycle of MEM
        ScheduledInstruction big = at(10, 0, new MemRead(A, 1024, 1, 0));
        ScheduledInstruction add = at(30, 0, new VxmBinary(BinaryOp.ADD, 0, 0, 1, 0, 100_000)); // 20 cycles of VXM
        ScheduledInstruction clash = at(40, 0, new VxmBinary(BinaryOp.MUL, 2, 0, 3, 0, 10));
        UnitConflictException e = rejects(UnitConflictException.class, clash, TWO, first, big, add, clash);
        assertEquals(clash, e.at());
    }

    @Test
    void streamReadBeforeItsProducerIsReady() {
        ScheduledInstruction read = at(0, 0, new MemRead(A, 1000, 0, 0)); // ready at 1 + memLatency = 6
        ScheduledInstruction early = at(3, 0, new MemWrite(0, 0, 1000, B));
        rejects(HazardException.class, early, TWO, read, early);
    }

    @Test
    void sramReadBeforeItsProducerIsReady() {
        ScheduledInstruction write = at(0, 0, new MemWrite(0, 0, 1000, A));
        ScheduledInstruction early = at(2, 0, new MemRead(A + 400, 10, 1, 0)); // overlaps the written range
        rejects(HazardException.class, early, TWO, write, early);
    }

    @Test
    void writeOverDataStillBeingRead() {
        ScheduledInstruction read = at(0, 0, new VxmBinary(BinaryOp.ADD, 0, 0, 1, 0, 100_000)); // reads s1 for 20 cycles
        ScheduledInstruction overwrite = at(5, 0, new MemRead(A, 10, 1, 0));
        rejects(HazardException.class, overwrite, TWO, read, overwrite);
    }

    @Test
    void allocationOutOfBounds() {
        List<Allocation> bad = new ArrayList<>(TWO);
        bad.add(new Allocation(0, "huge", C.sramBytes() - 100, 200, 0, Allocation.FOREVER));
        ScheduledInstruction read = at(0, 0, new MemRead(A, 10, 0, 0));
        SramAllocationException e = assertThrows(SramAllocationException.class,
                () -> ProgramValidator.validate(new StaticProgram(C, 2, bad, List.of(read))));
        assertTrue(e.getMessage().contains("cycle 0, chip 0, MEM, allocation huge"), e.getMessage());
        assertTrue(e.getMessage().contains("out of bounds"), e.getMessage());
    }

    @Test
    void allocationOverlappingALiveOne() {
        List<Allocation> bad = new ArrayList<>(TWO);
        bad.add(new Allocation(0, "late", B + 100, 64, 50, 100)); // inside b, which lives forever
        SramAllocationException e = assertThrows(SramAllocationException.class,
                () -> ProgramValidator.validate(new StaticProgram(C, 2, bad, List.of())));
        assertTrue(e.getMessage().contains("cycle 50, chip 0, MEM, allocation late") && e.getMessage().contains("overlaps"), e.getMessage());
    }

    @Test
    void accessOutsideEveryLiveAllocation() {
        ScheduledInstruction stray = at(0, 0, new MemRead(B + 8192, 10, 0, 0));
        rejects(SramAllocationException.class, stray, TWO, stray);
    }

    @Test
    void linkUsedTwiceAtOnce() {
        ScheduledInstruction s1 = at(0, 0, new C2cSend(A, 4096, 1, 7));   // 4096 B at 30 GB/s ~ 123 cycles of link
        ScheduledInstruction s2 = at(10, 0, new C2cSend(B, 4096, 1, 8));
        ScheduledInstruction r1 = at(2000, 1, new C2cRecv(0, 7, A, 4096));
        ScheduledInstruction r2 = at(2001, 1, new C2cRecv(0, 8, A, 4096));
        rejects(LinkConflictException.class, s2, TWO, s1, s2, r1, r2);
    }

    @Test
    void receiveBeforeTheDataArrives() {
        ScheduledInstruction send = at(0, 0, new C2cSend(A, 4096, 1, 7));
        ScheduledInstruction recv = at(100, 1, new C2cRecv(0, 7, A, 4096)); // arrives after 450 + 123 cycles
        rejects(HazardException.class, recv, TWO, send, recv);
    }

    @Test
    void aValidProgramRuns() {
        StaticProgram p = new StaticProgram(C, 2, TWO, List.of(
                at(0, 0, new MemWrite(0, 0, 16, A)),
                at(6, 0, new C2cSend(A, 64, 1, 1)),
                at(1000, 1, new C2cRecv(0, 1, A, 64))));
        try (ChipArray chips = new ChipArray(C, 2)) {
            RunStats r = chips.run(p, ChipArray.Mode.FULL);
            // Two chips of one node align first (chipSyncCycles), then the receive's result is ready at 1000 + 1 + memLatency.
            assertEquals(C.chipSyncCycles() + 1000 + 1 + C.memLatency(), r.cycles());
        }
    }
}
