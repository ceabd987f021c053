package dev.tandem.runtime.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.runtime.device.DeviceSpec;

import java.util.List;
import java.util.Locale;

/**
 * What {@link DeviceBench} measured, as a readable table and as JSON (docs/gpu-results.md says what
 * each field means). Derived figures (GB/s, fractions, floors) are computed here from the measured
 * bytes and seconds, one formula each.
 */
public record DeviceBenchReport(DeviceSpec spec, DeviceBench.Settings settings, DeviceBench.Copy copy,
                                List<DeviceBench.Matmul> matvecs, List<DeviceBench.Matmul> batched,
                                List<DeviceBench.ModelRun> models, List<String> errors) {

    /** Fraction of the copy bandwidth (read+write) that a read-only op's GB/s reach. */
    public double fractionOfCopy(double readGBps) {
        return readGBps / copy.readWriteGBps();
    }

    /** Seconds a decode step takes at the copy bandwidth (read+write) if it only read its bytes once. */
    public double floorSeconds(DeviceBench.ModelRun m) {
        return m.floorSeconds(copy.readWriteGBps());
    }

    public String table() {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "device   %s (%s)%n", spec.name(), spec.kind()));
        b.append(String.format(Locale.ROOT, "copy     %.1f MiB: %.4f ms, %.1f GB/s read+write (%.1f GB/s one way); wall %.4f ms%n",
                copy.bytes() / 1048576.0, copy.timing().eventSeconds() * 1e3, copy.readWriteGBps(), copy.oneWayGBps(),
                copy.timing().wallSeconds() * 1e3));
        b.append(String.format(Locale.ROOT, "%-8s %-6s %14s %6s %11s %10s %10s %9s%n",
                "matmul", "format", "rows x cols", "batch", "MiB", "ms", "GB/s", "of copy"));
        for (DeviceBench.Matmul m : matvecs) {
            b.append(String.format(Locale.ROOT, "%-8s %-6s %14s %6d %11.1f %10.4f %10.1f %8.1f%%%n", "", m.format(),
                    m.rows() + "x" + m.cols(), m.batch(), m.weightBytes() / 1048576.0, m.timing().eventSeconds() * 1e3,
                    m.weightGBps(), 100 * fractionOfCopy(m.weightGBps())));
        }
        for (DeviceBench.Matmul m : batched) {
            b.append(String.format(Locale.ROOT, "%-8s %-6s %14s %6d %11.1f %10.4f %9.2f TFLOP/s%n", "", m.format(),
                    m.rows() + "x" + m.cols(), m.batch(), m.weightBytes() / 1048576.0, m.timing().eventSeconds() * 1e3,
                    m.tflops()));
        }
        for (DeviceBench.ModelRun m : models) {
            b.append(String.format(Locale.ROOT,
                    "model    %-20s weights %.2f GB; decode at pos %d: %.3f ms/token (%.1f tok/s), floor %.3f ms, %.2fx floor; "
                            + "prefill %d: %.1f ms, %.2f TFLOP/s%n",
                    m.model(), m.weightBytes() / 1e9, m.decodePosition(), m.decode().wallSeconds() * 1e3,
                    m.decodeTokensPerSecond(), floorSeconds(m) * 1e3, m.decode().wallSeconds() / floorSeconds(m),
                    m.prefillTokens(), m.prefill().wallSeconds() * 1e3, m.prefillTflops()));
        }
        for (String e : errors) {
            b.append("error    ").append(e).append(System.lineSeparator());
        }
        return b.toString();
    }

    public String json() {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.createObjectNode();
        ObjectNode dev = root.putObject("device");
        dev.put("name", spec.name());
        dev.put("kind", spec.kind().toString());
        dev.put("memory_bytes", spec.memoryBytes());
        dev.put("spec_bandwidth_bytes_per_s", spec.memoryBandwidth());
        ObjectNode conv = root.putObject("conventions");
        conv.put("copy_gbps", "bytes read + bytes written per second / 1e9 (torch's and CUDA bandwidthTest's convention)");
        conv.put("copy_one_way_gbps", "bytes copied per second / 1e9");
        conv.put("matvec_gbps", "weight bytes read per second / 1e9");
        conv.put("fraction_of_copy", "matvec_gbps / copy_gbps (read+write)");
        conv.put("decode_floor_s", "(weight bytes + F32 KV bytes read per token) / (copy_gbps * 1e9)");
        conv.put("timing", "median of runs after warm-up; event_s by the device's events, wall_s by the host clock between synchronizes; "
                + "models: wall clock of the forward, which returns the logits");
        ObjectNode s = root.putObject("settings");
        s.put("copy_bytes", settings.copyBytes());
        s.put("matvec_bytes", settings.matvecBytes());
        s.put("matvec_cols", settings.matvecCols());
        s.put("batch_tokens", settings.batchTokens());
        s.put("decode_tokens", settings.decodeTokens());
        s.put("warmup", settings.warmup());
        s.put("runs", settings.runs());
        ObjectNode c = root.putObject("copy");
        c.put("bytes", copy.bytes());
        timing(c, copy.timing());
        c.put("copy_gbps", copy.readWriteGBps());
        c.put("copy_one_way_gbps", copy.oneWayGBps());
        ArrayNode mv = root.putArray("matvec");
        for (DeviceBench.Matmul m : matvecs) {
            ObjectNode o = matmul(mv.addObject(), m);
            o.put("gbps", m.weightGBps());
            o.put("fraction_of_copy", fractionOfCopy(m.weightGBps()));
        }
        ArrayNode mm = root.putArray("matmul_batched");
        for (DeviceBench.Matmul m : batched) {
            matmul(mm.addObject(), m).put("tflops", m.tflops());
        }
        ArrayNode ms = root.putArray("models");
        for (DeviceBench.ModelRun m : models) {
            ObjectNode o = ms.addObject();
            o.put("shape", m.model().shape());
            o.put("format", m.model().format().toString());
            o.put("weight_bytes", m.weightBytes());
            o.put("decode_bytes_per_token", m.decodeBytesPerToken());
            o.put("decode_position", m.decodePosition());
            timing(o.putObject("decode"), m.decode());
            o.put("decode_tokens_per_s", m.decodeTokensPerSecond());
            o.put("decode_floor_s", floorSeconds(m));
            o.put("decode_over_floor", m.decode().wallSeconds() / floorSeconds(m));
            o.put("prefill_tokens", m.prefillTokens());
            o.put("prefill_flops", m.prefillFlops());
            timing(o.putObject("prefill"), m.prefill());
            o.put("prefill_tflops", m.prefillTflops());
        }
        // Hook: the Device SPI has no graph capture yet. A backend that adds one (CUDA graphs of the
        // decode step) reports replay against eager launches here.
        ObjectNode graph = root.putObject("graph_replay");
        graph.put("measured", false);
        graph.put("why", "the Device SPI exposes no graph capture");
        ArrayNode err = root.putArray("errors");
        errors.forEach(err::add);
        try {
            return mapper.writeValueAsString(root);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ObjectNode matmul(ObjectNode o, DeviceBench.Matmul m) {
        o.put("format", m.format().toString());
        o.put("rows", m.rows());
        o.put("cols", m.cols());
        o.put("batch", m.batch());
        o.put("weight_bytes", m.weightBytes());
        timing(o, m.timing());
        return o;
    }

    private static void timing(ObjectNode o, DeviceBench.Timing t) {
        o.put("event_s", t.eventSeconds());
        o.put("wall_s", t.wallSeconds());
        o.put("runs", t.runs());
    }
}
