package dev.tandem.runtime.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.kernels.KernelConfig;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.model.TensorEntry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * What {@code tandem bench} prints: llama-bench's markdown table, or a JSON array with llama-bench's
 * field names (model_filename, model_type, model_size, model_n_params, n_threads, n_prompt, n_gen,
 * test, avg_ts, stddev_ts, samples_ts) so scripts can read both tools' output the same way.
 */
record BenchReport(ModelInfo model, int threads, List<Test> tests) {

    /** One test: its name (pp512, tg128), token counts and the tokens/s of each measured repetition. */
    record Test(String name, int nPrompt, int nGen, double[] samples) {
        double mean() {
            double s = 0;
            for (double v : samples) s += v;
            return s / samples.length;
        }

        /** Sample standard deviation (n-1), 0 for a single sample, as llama-bench reports it. */
        double stddev() {
            if (samples.length < 2) return 0;
            double m = mean(), s = 0;
            for (double v : samples) s += (v - m) * (v - m);
            return Math.sqrt(s / (samples.length - 1));
        }
    }

    /**
     * The model columns: file name, weight format, bytes, parameters. The format is the layers' (that
     * of the first FFN matrix), as llama.cpp names a file by its "mostly" type: small models keep a
     * larger F32 embedding next to quantized layers.
     */
    record ModelInfo(String filename, String type, long sizeBytes, long params) {
        static ModelInfo of(Model m, Path file) {
            long params = 0;
            for (TensorEntry t : m.tensors()) {
                long n = 1;
                for (long d : t.dims()) n *= d;
                params += n;
            }
            String type = m.weights().w1()[0].format().name();
            try {
                return new ModelInfo(file.getFileName().toString(), type, Files.size(file), params);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    String backend() {
        int bits = KernelConfig.vectorBits();
        return bits == 0 ? "CPU (scalar)" : "CPU (Vector API " + bits + "-bit)";
    }

    String table() {
        StringBuilder sb = new StringBuilder();
        sb.append("| model | size | params | backend | threads | test | t/s |\n");
        sb.append("| --- | ---: | ---: | --- | ---: | ---: | ---: |\n");
        for (Test t : tests) {
            sb.append(String.format(Locale.ROOT, "| %s %s | %s | %s | %s | %d | %s | %.2f ± %.2f |%n",
                    model.filename(), model.type(), size(model.sizeBytes()), params(model.params()), backend(), threads,
                    t.name(), t.mean(), t.stddev()));
        }
        return sb.toString();
    }

    String json() {
        ObjectMapper mapper = new ObjectMapper();
        ArrayNode array = mapper.createArrayNode();
        for (Test t : tests) {
            ObjectNode o = array.addObject();
            o.put("model_filename", model.filename());
            o.put("model_type", model.type());
            o.put("model_size", model.sizeBytes());
            o.put("model_n_params", model.params());
            o.put("n_threads", threads);
            o.put("n_prompt", t.nPrompt());
            o.put("n_gen", t.nGen());
            o.put("test", t.name());
            o.put("avg_ts", t.mean());
            o.put("stddev_ts", t.stddev());
            ArrayNode samples = o.putArray("samples_ts");
            for (double s : t.samples()) samples.add(s);
        }
        try {
            return mapper.writerWithDefaultPrettyPrinter().writeValueAsString(array) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String size(long bytes) {
        double mib = bytes / (1024.0 * 1024);
        return mib >= 1024 ? String.format(Locale.ROOT, "%.2f GiB", mib / 1024) : String.format(Locale.ROOT, "%.2f MiB", mib);
    }

    private static String params(long n) {
        if (n >= 1_000_000_000L) return String.format(Locale.ROOT, "%.2f B", n / 1e9);
        if (n >= 1_000_000L) return String.format(Locale.ROOT, "%.2f M", n / 1e6);
        return String.format(Locale.ROOT, "%.2f K", n / 1e3);
    }
}
