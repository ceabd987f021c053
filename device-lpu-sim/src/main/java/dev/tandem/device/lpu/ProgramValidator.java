package dev.tandem.device.lpu;

import dev.tandem.device.lpu.Instruction.C2cRecv;
import dev.tandem.device.lpu.Instruction.C2cSend;
import dev.tandem.device.lpu.Location.Sram;
import dev.tandem.device.lpu.Location.Stream;
import dev.tandem.device.lpu.Location.WeightBuffer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks a whole static program before any of it runs. A program that passes cannot have two
 * instructions on one unit at once, a read before its producer's latency has elapsed, a write over
 * data still being read, an SRAM access outside a live allocation, overlapping live allocations, or
 * a link carrying two transfers at once. Each failure is a typed {@link ScheduleException}.
 *
 * <p>Instructions are visited in issue order, and for each chip only the accesses still in flight
 * are kept, so the cost is linear in the program times the (small) number of accesses in flight.
 */
public final class ProgramValidator {
    private ProgramValidator() {}

    /** A location being written until ready, or read until done. */
    private record Access(Location location, long until, ScheduledInstruction by) {}

    private record LinkKey(int from, int to) {}

    private record MessageKey(int from, int to, int tag) {}

    public static void validate(StaticProgram program) {
        ChipConfig c = program.config();
        checkAllocations(program);
        Map<Integer, List<Allocation>> allocationsByChip = new HashMap<>();
        for (Allocation a : program.allocations()) {
            allocationsByChip.computeIfAbsent(a.chip(), k -> new ArrayList<>()).add(a);
        }
        Map<MessageKey, ScheduledInstruction> sends = new HashMap<>();
        for (ScheduledInstruction s : program.instructions()) {
            if (s.instruction() instanceof C2cSend send) {
                MessageKey key = new MessageKey(s.chip(), send.toChip(), send.tag());
                if (sends.putIfAbsent(key, s) != null) {
                    throw new OperandException(s, "a second send from chip " + s.chip() + " to chip " + send.toChip() + " with tag " + send.tag());
                }
            }
        }

        int units = Unit.values().length;
        long[] unitBusyUntil = new long[program.chips() * units];
        ScheduledInstruction[] unitBusyWith = new ScheduledInstruction[program.chips() * units];
        Map<LinkKey, ScheduledInstruction> linkBusyWith = new HashMap<>();
        Map<LinkKey, Long> linkBusyUntil = new HashMap<>();
        List<List<Access>> pendingWrites = new ArrayList<>();
        List<List<Access>> pendingReads = new ArrayList<>();
        for (int i = 0; i < program.chips(); i++) {
            pendingWrites.add(new ArrayList<>());
            pendingReads.add(new ArrayList<>());
        }

        for (ScheduledInstruction s : program.instructions()) {
            Instruction in = s.instruction();
            int chip = s.chip();
            long t = s.cycle();
            checkOperands(program, s);

            int u = chip * units + in.unit().ordinal();
            if (unitBusyWith[u] != null && t < unitBusyUntil[u]) {
                throw new UnitConflictException(s, unitBusyWith[u], unitBusyUntil[u]);
            }
            unitBusyUntil[u] = t + in.occupancy(c);
            unitBusyWith[u] = s;

            if (in instanceof C2cSend send) {
                LinkKey link = new LinkKey(chip, send.toChip());
                Long until = linkBusyUntil.get(link);
                if (until != null && t < until) {
                    throw new LinkConflictException(s, "the link from chip " + chip + " to chip " + send.toChip()
                            + " is busy until cycle " + until + " with " + linkBusyWith.get(link).where());
                }
                linkBusyUntil.put(link, t + send.linkCycles(c, chip));
                linkBusyWith.put(link, s);
            }
            if (in instanceof C2cRecv recv) {
                ScheduledInstruction send = sends.remove(new MessageKey(recv.fromChip(), chip, recv.tag()));
                if (send == null) {
                    throw new HazardException(s, "no send from chip " + recv.fromChip() + " with tag " + recv.tag()
                            + " (or it was received already)");
                }
                C2cSend si = (C2cSend) send.instruction();
                long arrives = send.cycle() + si.latency(c, send.chip());
                if (t < arrives) {
                    throw new HazardException(s, "receives before the data arrives at cycle " + arrives + " from " + send.where());
                }
                if (si.bytes() != recv.bytes()) {
                    throw new OperandException(s, "receives " + recv.bytes() + " bytes but " + send.where() + " sends " + si.bytes());
                }
            }

            List<Allocation> chipAllocations = allocationsByChip.getOrDefault(chip, List.of());
            for (Location l : in.reads()) {
                checkSram(c, chipAllocations, s, l);
            }
            for (Location l : in.writes()) {
                checkSram(c, chipAllocations, s, l);
            }

            List<Access> writes = pendingWrites.get(chip);
            List<Access> reads = pendingReads.get(chip);
            writes.removeIf(a -> a.until() <= t);
            reads.removeIf(a -> a.until() <= t);
            for (Location l : in.reads()) {
                for (Access w : writes) {
                    if (w.location().overlaps(l)) {
                        throw new HazardException(s, "reads " + l + " before its producer's result is ready at cycle "
                                + w.until() + " (" + w.by().where() + ")");
                    }
                }
            }
            for (Location l : in.writes()) {
                for (Access r : reads) {
                    if (r.location().overlaps(l)) {
                        throw new HazardException(s, "writes " + l + " while it is still read until cycle " + r.until()
                                + " (" + r.by().where() + ")");
                    }
                }
            }
            long ready = t + in.latency(c, chip);
            long readDone = t + in.occupancy(c);
            for (Location l : in.reads()) {
                reads.add(new Access(l, readDone, s));
            }
            for (Location l : in.writes()) {
                writes.add(new Access(l, ready, s));
            }
        }
        if (!sends.isEmpty()) {
            ScheduledInstruction first = sends.values().stream()
                    .min(Comparator.comparingLong(ScheduledInstruction::cycle)).orElseThrow();
            throw new HazardException(first, "the send is never received");
        }
    }

    private static void checkOperands(StaticProgram p, ScheduledInstruction s) {
        ChipConfig c = p.config();
        if (s.chip() >= p.chips()) {
            throw new OperandException(s, "the program has only " + p.chips() + " chips");
        }
        List<Location> all = new ArrayList<>(s.instruction().reads());
        all.addAll(s.instruction().writes());
        for (Location l : all) {
            if (l instanceof Stream st && (st.id() < 0 || st.id() >= c.streamRegisters() || st.offset() < 0 || st.length() < 0)) {
                throw new OperandException(s, l + ": a chip has stream registers 0.." + (c.streamRegisters() - 1));
            }
            if (l instanceof WeightBuffer wb && (wb.id() < 0 || wb.id() >= c.mxmWeightBuffers())) {
                throw new OperandException(s, l + ": the MXM has weight buffers 0.." + (c.mxmWeightBuffers() - 1));
            }
        }
        int peer = switch (s.instruction()) {
            case C2cSend send -> send.toChip();
            case C2cRecv recv -> recv.fromChip();
            default -> -1;
        };
        if (peer != -1 && (peer < 0 || peer >= p.chips() || peer == s.chip())) {
            throw new OperandException(s, "chip " + peer + " is not another chip of the program's " + p.chips());
        }
    }

    private static void checkSram(ChipConfig c, List<Allocation> allocations, ScheduledInstruction s, Location l) {
        if (!(l instanceof Sram r)) {
            return;
        }
        if (r.offset() < 0 || r.end() > c.sramBytes()) {
            throw new SramAllocationException(s, r + " is outside the chip's " + c.sramBytes() + " bytes of SRAM");
        }
        for (Allocation a : allocations) {
            if (a.liveAt(s.cycle()) && a.contains(r.offset(), r.bytes())) {
                return;
            }
        }
        throw new SramAllocationException(s, r + " is not inside any allocation live at cycle " + s.cycle());
    }

    /** Bounds, then overlap of live ranges: sorted by chip and offset, each is compared with the ones after it that start before it ends. */
    private static void checkAllocations(StaticProgram p) {
        ChipConfig c = p.config();
        List<Allocation> sorted = new ArrayList<>(p.allocations());
        for (Allocation a : sorted) {
            if (a.chip() < 0 || a.chip() >= p.chips()) {
                throw new SramAllocationException(a, "the program has only " + p.chips() + " chips");
            }
            if (a.offset() < 0 || a.bytes() < 0 || a.end() > c.sramBytes()) {
                throw new SramAllocationException(a, "out of bounds: the chip has " + c.sramBytes() + " bytes of SRAM");
            }
            if (a.from() < 0 || a.until() <= a.from()) {
                throw new SramAllocationException(a, "its live range is empty");
            }
        }
        sorted.sort(Comparator.comparingInt(Allocation::chip).thenComparingLong(Allocation::offset));
        for (int i = 0; i < sorted.size(); i++) {
            Allocation a = sorted.get(i);
            for (int j = i + 1; j < sorted.size(); j++) {
                Allocation b = sorted.get(j);
                if (b.chip() != a.chip() || b.offset() >= a.end()) {
                    break;
                }
                if (b.bytes() > 0 && a.bytes() > 0 && a.from() < b.until() && b.from() < a.until()) {
                    throw new SramAllocationException(b, "overlaps the live allocation " + a);
                }
            }
        }
    }
}
