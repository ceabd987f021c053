package dev.tandem.runtime.compiler;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** A plan's timeline as Chrome/Perfetto trace JSON: one thread (track) per device stage and per link. */
public final class PlanTrace {
    private PlanTrace() {}

    public static ObjectNode toJson(Plan plan) {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        ArrayNode events = root.putArray("traceEvents");
        Map<String, Integer> tids = new LinkedHashMap<>();
        for (TimelineEvent e : plan.timeline()) {
            tids.computeIfAbsent(e.track(), t -> tids.size() + 1);
        }
        tids.forEach((track, tid) -> {
            ObjectNode m = events.addObject();
            m.put("name", "thread_name").put("ph", "M").put("pid", 1).put("tid", tid);
            m.putObject("args").put("name", track);
        });
        for (TimelineEvent e : plan.timeline()) {
            ObjectNode x = events.addObject();
            x.put("name", e.name()).put("cat", e.phase()).put("ph", "X").put("pid", 1).put("tid", tids.get(e.track()))
                    .put("ts", e.startS() * 1e6).put("dur", (e.endS() - e.startS()) * 1e6);
            x.putObject("args").put("micro_batch", e.microBatch());
        }
        root.put("displayTimeUnit", "ns");
        return root;
    }

    public static void write(Plan plan, Path file) throws IOException {
        new ObjectMapper().writeValue(file.toFile(), toJson(plan));
    }
}
