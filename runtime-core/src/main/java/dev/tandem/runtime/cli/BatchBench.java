package dev.tandem.runtime.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.KvPoolSpec;
import dev.tandem.runtime.engine.Engine;
import dev.tandem.runtime.engine.EngineConfig;
import dev.tandem.runtime.engine.RequestHandle;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code tandem bench -b 1,2,4}: llama-batched-bench's measurement on Tandem's engine. For each
 * batch size B, B requests of P random prompt tokens each generate N tokens together (continuous
 * batching on the CPU device); once warm, each repetition times the prompt phase (submission until
 * every request has its first token) and the generation phase (from then until the last token),
 * reported as system tokens/s (all sequences) and per-user tokens/s (one sequence's share).
 */
final class BatchBench {
    private BatchBench() {}

    /**
     * One batch size's repetitions.
     *
     * @param ppSeconds per repetition, submission until every request had its first token
     * @param tgSeconds per repetition, from then until the last token
     * @param tgTokens  per repetition, tokens chosen in the generation window (all sequences)
     */
    record Result(int batch, int prompt, int gen, double[] ppSeconds, double[] tgSeconds, long[] tgTokens) {
        double speedPp(int i) { return (double) batch * prompt / ppSeconds[i]; }

        double speedTg(int i) { return tgTokens[i] / tgSeconds[i]; }

        double mean(java.util.function.IntToDoubleFunction f) {
            double s = 0;
            for (int i = 0; i < ppSeconds.length; i++) s += f.applyAsDouble(i);
            return s / ppSeconds.length;
        }
    }

    /** Runs every batch size on device: warm-up runs for warmupSeconds (at least one), then repetitions timed runs each. */
    static List<Result> run(Model m, Device device, int[] batches, int prompt, int gen, int repetitions,
                            double warmupSeconds, int[] tokens) {
        List<Result> results = new ArrayList<>();
        for (int b : batches) {
            EngineConfig config = EngineConfig.defaults(prompt + gen).maxSequences(b).maxBatchTokens(Math.max(256, b))
                    .queueCapacity(b).blockSize(Math.min(KvPoolSpec.DEFAULT_BLOCK_SIZE, prompt + gen));
            try (Engine engine = Engine.open(m, device, config)) {
                BenchCommand.warmUp(warmupSeconds, () -> once(engine, b, prompt, gen, tokens));
                double[] pp = new double[repetitions], tg = new double[repetitions];
                long[] counted = new long[repetitions];
                for (int r = 0; r < repetitions; r++) {
                    long[] t = once(engine, b, prompt, gen, tokens);
                    pp[r] = (t[1] - t[0]) / 1e9;
                    tg[r] = (t[2] - t[1]) / 1e9;
                    counted[r] = t[3];
                }
                results.add(new Result(b, prompt, gen, pp, tg, counted));
            }
        }
        return results;
    }

    /** {submitted, every request's first token, the last token, tokens after the first instant} in nanoseconds. */
    private static long[] once(Engine engine, int batch, int prompt, int gen, int[] tokens) {
        long[][] at = new long[batch][gen];
        List<RequestHandle> handles = new ArrayList<>();
        long submitted = System.nanoTime();
        for (int s = 0; s < batch; s++) {
            int[] ids = new int[prompt];
            for (int i = 0; i < prompt; i++) {
                // Each sequence its own prompt: a shifted window of the random ids.
                ids[i] = tokens[(s * 31 + i) % tokens.length];
            }
            long[] times = at[s];
            int[] n = {0};
            handles.add(engine.submit(ids, Sampling.greedy().maxTokens(gen).stopAtEos(false), t -> times[n[0]++] = System.nanoTime()));
        }
        handles.forEach(h -> h.result().join());
        long first = 0, last = 0;
        for (long[] times : at) {
            first = Math.max(first, times[0]);
            last = Math.max(last, times[gen - 1]);
        }
        long after = 0;
        for (long[] times : at) {
            for (long t : times) {
                after += t > first ? 1 : 0;
            }
        }
        return new long[] {submitted, first, last, after};
    }

    /** llama-batched-bench's markdown columns, with per-user generation speed added. */
    static String table(List<Result> results, int threads) {
        StringBuilder sb = new StringBuilder();
        sb.append("| PP | TG | B | threads | T_PP s | S_PP t/s | T_TG s | S_TG t/s | S_TG/user t/s |\n");
        sb.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Result r : results) {
            double speedTg = r.mean(r::speedTg);
            sb.append(String.format(Locale.ROOT, "| %d | %d | %d | %d | %.3f | %.2f | %.3f | %.2f | %.2f |%n", r.prompt(), r.gen(),
                    r.batch(), threads, r.mean(i -> r.ppSeconds()[i]), r.mean(r::speedPp), r.mean(i -> r.tgSeconds()[i]),
                    speedTg, speedTg / r.batch()));
        }
        return sb.toString();
    }

    /** A JSON array, one object per batch size, in llama-batched-bench's jsonl names (pp, tg, pl, t_pp, speed_pp, t_tg, speed_tg). */
    static String json(List<Result> results, BenchReport.ModelInfo model, int threads) {
        ObjectMapper mapper = new ObjectMapper();
        ArrayNode array = mapper.createArrayNode();
        for (Result r : results) {
            ObjectNode o = array.addObject();
            o.put("model_filename", model.filename());
            o.put("model_type", model.type());
            o.put("n_threads", threads);
            o.put("pp", r.prompt());
            o.put("tg", r.gen());
            o.put("pl", r.batch());
            o.put("t_pp", r.mean(i -> r.ppSeconds()[i]));
            o.put("speed_pp", r.mean(r::speedPp));
            o.put("t_tg", r.mean(i -> r.tgSeconds()[i]));
            o.put("speed_tg", r.mean(r::speedTg));
            o.put("speed_tg_per_user", r.mean(r::speedTg) / r.batch());
            ArrayNode samples = o.putArray("samples_speed_tg");
            for (int i = 0; i < r.tgSeconds().length; i++) samples.add(r.speedTg(i));
        }
        try {
            return mapper.writerWithDefaultPrettyPrinter().writeValueAsString(array) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
