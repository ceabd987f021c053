package dev.tandem.device.lpu;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.device.lpu.Instruction.C2cRecv;
import dev.tandem.device.lpu.Instruction.C2cSend;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Chrome / Perfetto trace JSON of static programs: one process per chip, one thread (track) per
 * unit, one complete slice per instruction (its occupancy), and each C2C transfer as a flow from
 * its send to its receive. Time is emulated: 1 trace microsecond = 1 cycle, so the timeline reads
 * in cycles. Programs given together are laid end to end.
 */
public final class ChromeTrace {
    private ChromeTrace() {}

    public static void write(List<StaticProgram> programs, Path file) throws IOException {
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(file.toFile(), build(programs));
    }

    public static ObjectNode build(List<StaticProgram> programs) {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        ArrayNode events = root.putArray("traceEvents");
        root.put("displayTimeUnit", "ns");
        root.put("otherData", "1 us of trace time = 1 emulated cycle");
        int chips = programs.stream().mapToInt(StaticProgram::chips).max().orElse(0);
        for (int chip = 0; chip < chips; chip++) {
            ObjectNode meta = events.addObject();
            meta.put("ph", "M").put("name", "process_name").put("pid", chip).put("tid", 0);
            meta.putObject("args").put("name", "chip " + chip);
            for (Unit u : Unit.values()) {
                ObjectNode t = events.addObject();
                t.put("ph", "M").put("name", "thread_name").put("pid", chip).put("tid", u.ordinal());
                t.putObject("args").put("name", u.name());
            }
        }
        long base = 0;
        int flow = 0;
        for (StaticProgram p : programs) {
            Map<Long, Integer> flowOfMessage = new HashMap<>();
            for (ScheduledInstruction s : p.instructions()) {
                Instruction in = s.instruction();
                long ts = base + s.cycle();
                ObjectNode e = events.addObject();
                e.put("ph", "X").put("name", in.mnemonic()).put("cat", in.unit().name())
                        .put("pid", s.chip()).put("tid", in.unit().ordinal())
                        .put("ts", ts).put("dur", in.occupancy(p.config()));
                e.putObject("args").put("instruction", in.toString()).put("cycle", s.cycle())
                        .put("latency", in.latency(p.config(), s.chip()));
                if (in instanceof C2cSend send) {
                    int id = flow++;
                    flowOfMessage.put(key(s.chip(), send.toChip(), send.tag()), id);
                    events.addObject().put("ph", "s").put("name", "c2c").put("cat", "C2C").put("id", id)
                            .put("pid", s.chip()).put("tid", Unit.C2C.ordinal()).put("ts", ts);
                }
                if (in instanceof C2cRecv recv) {
                    Integer id = flowOfMessage.get(key(recv.fromChip(), s.chip(), recv.tag()));
                    if (id != null) {
                        events.addObject().put("ph", "f").put("bp", "e").put("name", "c2c").put("cat", "C2C").put("id", id)
                                .put("pid", s.chip()).put("tid", Unit.C2C.ordinal()).put("ts", ts);
                    }
                }
            }
            base += p.cycles();
        }
        return root;
    }

    private static long key(int from, int to, int tag) { return ((long) from << 44) ^ ((long) to << 24) ^ tag; }
}
