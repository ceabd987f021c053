package dev.tandem.device.lpu;

import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/**
 * The timing of one program, computed from the program alone (never from the host's clock), so it
 * is the same in full and timing-only runs and on any host.
 *
 * @param config       the chip
 * @param chips        chips the program spans
 * @param cycles       cycles until the last result is ready
 * @param instructions instructions executed
 * @param busyCycles   per unit, occupancy summed over every chip
 */
public record RunStats(ChipConfig config, int chips, long cycles, long instructions, Map<Unit, Long> busyCycles) {
    public RunStats {
        busyCycles = Map.copyOf(busyCycles);
    }

    static RunStats of(StaticProgram p) {
        Map<Unit, Long> busy = new EnumMap<>(Unit.class);
        for (Unit u : Unit.values()) {
            busy.put(u, 0L);
        }
        for (ScheduledInstruction s : p.instructions()) {
            busy.merge(s.unit(), s.instruction().occupancy(p.config()), Long::sum);
        }
        return new RunStats(p.config(), p.chips(), p.cycles(), p.instructions().size(), busy);
    }

    /** Busy fraction of a unit over all chips and the whole program. */
    public double utilisation(Unit u) {
        return cycles == 0 ? 0 : busyCycles.getOrDefault(u, 0L) / ((double) cycles * chips);
    }

    /** The unit with the highest utilisation. */
    public Unit busiestUnit() {
        Unit best = Unit.MEM;
        for (Unit u : Unit.values()) {
            if (utilisation(u) > utilisation(best)) {
                best = u;
            }
        }
        return best;
    }

    public double seconds() { return cycles / config.clockHz(); }

    /** Two runs one after the other on the same chips. */
    public RunStats plus(RunStats o) {
        Map<Unit, Long> busy = new EnumMap<>(Unit.class);
        for (Unit u : Unit.values()) {
            busy.put(u, busyCycles.getOrDefault(u, 0L) + o.busyCycles.getOrDefault(u, 0L));
        }
        return new RunStats(config, Math.max(chips, o.chips), cycles + o.cycles, instructions + o.instructions, busy);
    }

    /** "cycles=.. tokens/s/user=.. busiest=MEM utilisation MEM=..% MXM=..%", taking this run as one token. */
    public String summary() {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "chips=%d cycles=%d (%.2f us at %.0f MHz) tokens/s/user=%.1f busiest=%s utilisation",
                chips, cycles, seconds() * 1e6, config.clockHz() / 1e6, 1 / seconds(), busiestUnit()));
        for (Unit u : Unit.values()) {
            sb.append(String.format(Locale.ROOT, " %s=%.1f%%", u, 100 * utilisation(u)));
        }
        return sb.toString();
    }
}
