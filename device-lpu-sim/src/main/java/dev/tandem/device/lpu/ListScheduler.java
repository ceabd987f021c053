package dev.tandem.device.lpu;

import dev.tandem.device.lpu.Instruction.C2cRecv;
import dev.tandem.device.lpu.Instruction.C2cSend;
import dev.tandem.device.lpu.Location.Sram;
import dev.tandem.device.lpu.Location.Stream;
import dev.tandem.device.lpu.Location.WeightBuffer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Set;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Builds a static program by list scheduling: instructions are offered in priority order (the
 * order a lowering emits them, which is a topological order of their dependencies), and each is
 * placed at the earliest cycle at which
 * <ul>
 *   <li>every location it reads holds its producers' results (issue + latency),</li>
 *   <li>nobody still reads a location it writes (issue + occupancy), and earlier writers of it have issued,</li>
 *   <li>its unit is free for its whole occupancy (gaps left by earlier placements are filled), and</li>
 *   <li>for a send, the link is free for the transfer; for a receive, the data has arrived.</li>
 * </ul>
 * Because gaps are filled, a weight load for a later layer slides back to whenever MEM and its
 * weight buffer are free, overlapping the weight streaming with compute as far as the
 * dependencies allow. The result passes {@link ProgramValidator} by construction.
 */
public final class ListScheduler {
    private final ChipConfig config;
    private final int chips;
    private final List<Allocation> allocations = new ArrayList<>();
    private final Set<Allocation> declared = new HashSet<>();
    private final List<ScheduledInstruction> placed = new ArrayList<>();
    private final long[] nextFree;
    private final List<Map<Unit, TreeMap<Long, Long>>> unitBusy = new ArrayList<>();
    private final Map<Long, TreeMap<Long, Long>> linkBusy = new HashMap<>();
    private final List<ChipAccesses> accesses = new ArrayList<>();
    private final Map<Long, Long> arrivals = new HashMap<>();
    private int nextTag;

    /** Where each chip's accesses were placed, indexed by location kind so scans stay short. */
    private static final class ChipAccesses {
        final List<Placed> sram = new ArrayList<>();
        final Map<Integer, List<Placed>> streams = new HashMap<>();
        final Map<Integer, List<Placed>> buffers = new HashMap<>();

        List<Placed> of(Location l) {
            return switch (l) {
                case Sram s -> sram;
                case Stream s -> streams.computeIfAbsent(s.id(), k -> new ArrayList<>());
                case WeightBuffer w -> buffers.computeIfAbsent(w.id(), k -> new ArrayList<>());
            };
        }
    }

    /** A placed access: read (busy until issue + occupancy) or write (issued at, ready at). */
    private record Placed(Location location, boolean write, long issue, long until) {}

    /**
     * @param firstFree per chip, the first SRAM byte this program may allocate (what lies below is
     *                  already in use and must be declared with {@link #addAllocation})
     */
    public ListScheduler(ChipConfig config, int chips, long[] firstFree) {
        this.config = config;
        this.chips = chips;
        this.nextFree = firstFree.clone();
        for (int i = 0; i < chips; i++) {
            Map<Unit, TreeMap<Long, Long>> m = new HashMap<>();
            for (Unit u : Unit.values()) {
                m.put(u, new TreeMap<>());
            }
            unitBusy.add(m);
            accesses.add(new ChipAccesses());
        }
    }

    public ListScheduler(ChipConfig config, int chips) {
        this(config, chips, new long[chips]);
    }

    public ChipConfig config() { return config; }

    public int chips() { return chips; }

    /** Declares an existing allocation (weights, a KV cache) the program uses; declaring one twice is harmless. */
    public void addAllocation(Allocation a) {
        if (declared.add(a)) {
            allocations.add(a);
        }
    }

    /** Allocates bytes on chip for the whole program, 64-byte aligned; returns the offset. */
    public long allocate(int chip, String name, long bytes) {
        long offset = (nextFree[chip] + 63) & ~63L;
        nextFree[chip] = offset + bytes;
        allocations.add(new Allocation(chip, name, offset, bytes, 0, Allocation.FOREVER));
        return offset;
    }

    /** SRAM bytes allocated on chip so far (the high-water mark). */
    public long used(int chip) { return nextFree[chip]; }

    /** Places an instruction at the earliest cycle its dependencies and resources allow; returns the cycle. */
    public long emit(int chip, Instruction in) {
        long earliest = 0;
        ChipAccesses acc = accesses.get(chip);
        for (Location l : in.reads()) {
            for (Placed p : acc.of(l)) {
                if (p.write() && p.location().overlaps(l)) {
                    earliest = Math.max(earliest, p.until());
                }
            }
        }
        for (Location l : in.writes()) {
            for (Placed p : acc.of(l)) {
                if (p.location().overlaps(l)) {
                    earliest = Math.max(earliest, p.write() ? p.issue() : p.until());
                }
            }
        }
        if (in instanceof C2cRecv r) {
            Long arrives = arrivals.remove(messageKey(r.fromChip(), chip, r.tag()));
            if (arrives == null) {
                throw new IllegalStateException("receive on chip " + chip + " before its send from chip " + r.fromChip() + " tag " + r.tag());
            }
            earliest = Math.max(earliest, arrives);
        }
        long occupancy = in.occupancy(config);
        TreeMap<Long, Long> unit = unitBusy.get(chip).get(in.unit());
        long t;
        if (in instanceof C2cSend s) {
            TreeMap<Long, Long> link = linkBusy.computeIfAbsent(linkKey(chip, s.toChip()), k -> new TreeMap<>());
            long linkCycles = s.linkCycles(config, chip);
            t = earliest;
            while (true) {
                long tu = firstFree(unit, t, occupancy);
                long tl = firstFree(link, tu, linkCycles);
                if (tl == tu) {
                    t = tu;
                    break;
                }
                t = tl;
            }
            link.put(t, t + linkCycles);
            arrivals.put(messageKey(chip, s.toChip(), s.tag()), t + s.latency(config, chip));
        } else {
            t = firstFree(unit, earliest, occupancy);
        }
        unit.put(t, t + occupancy);
        long ready = t + in.latency(config, chip);
        for (Location l : in.reads()) {
            acc.of(l).add(new Placed(l, false, t, t + occupancy));
        }
        for (Location l : in.writes()) {
            acc.of(l).add(new Placed(l, true, t, ready));
        }
        placed.add(new ScheduledInstruction(t, chip, in));
        return t;
    }

    /** Sends bytes of SRAM from one chip to another: a send and its receive, over the topology's hops between them. */
    public void transfer(int fromChip, long fromSram, int toChip, long toSram, long bytes) {
        transfer(fromChip, fromSram, toChip, toSram, bytes, config.hops(fromChip, toChip));
    }

    /** The same over a given number of hops: the program's chips stand for chips elsewhere in the system. */
    public void transfer(int fromChip, long fromSram, int toChip, long toSram, long bytes, int hops) {
        int tag = nextTag++;
        emit(fromChip, new C2cSend(fromSram, bytes, toChip, tag, hops));
        emit(toChip, new C2cRecv(fromChip, tag, toSram, bytes));
    }

    /** The earliest t >= from with [t, t + length) free of every busy interval. */
    private static long firstFree(TreeMap<Long, Long> busy, long from, long length) {
        long t = from;
        Map.Entry<Long, Long> before = busy.floorEntry(t);
        if (before != null && before.getValue() > t) {
            t = before.getValue();
        }
        while (true) {
            Map.Entry<Long, Long> next = busy.ceilingEntry(t);
            if (next == null || next.getKey() >= t + length) {
                return t;
            }
            t = next.getValue();
        }
    }

    private static long linkKey(int from, int to) { return ((long) from << 32) | to; }

    private static long messageKey(int from, int to, int tag) { return ((long) from << 44) ^ ((long) to << 24) ^ tag; }

    public StaticProgram build() {
        return new StaticProgram(config, chips, allocations, placed);
    }
}
