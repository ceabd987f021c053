package dev.tandem.runtime.run;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.exec.BatchPlanForward;
import dev.tandem.runtime.generate.Sampler;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Generates for B prompts at once on a {@link BatchPlanForward}, by {@link dev.tandem.runtime.Session}'s
 * rules per sequence (its own sampler with the shared seed, max tokens, a full context, EOS and stop
 * ids), so each sequence's ids are what a single-stream session generates from its prompt. Every
 * prompt prefills, then each decode step runs one row per sequence still going: sequences that stop
 * leave the batch, so the steps are ragged.
 */
public final class BatchGeneration {
    private BatchGeneration() {}

    /** Sees every logits row the batch produced: sequence seq's step-th (0 = after its prompt). */
    @FunctionalInterface
    public interface LogitsListener {
        void accept(int seq, int step, float[] logits);
    }

    /**
     * @param generated     per sequence, its ids
     * @param promptLogits  per sequence, the logits after its prompt
     * @param stepNanos     wall time of each decode step (all micro-batches), in order
     * @param stepRows      rows of each decode step
     */
    public record Outcome(int[][] generated, float[][] promptLogits, long[] stepNanos, int[] stepRows) {}

    public static Outcome run(BatchPlanForward forward, Model model, int[][] prompts, Sampling sampling, LogitsListener listener) {
        int b = prompts.length, vocab = model.config().vocabSize();
        if (b < 1 || b > forward.sequences()) {
            throw new IllegalArgumentException("the forward holds 1 to " + forward.sequences() + " sequences, got " + b + " prompts");
        }
        int eos = model.tokenizer().map(t -> t.eos()).orElse(-1);
        int context = forward.maxPositions();
        Sampler[] samplers = new Sampler[b];
        int[][] generated = new int[b][];
        int[] count = new int[b], pos = new int[b];
        boolean[] going = new boolean[b];
        float[][] promptLogits = new float[b][];
        for (int s = 0; s < b; s++) {
            if (prompts[s].length > context) {
                throw new IllegalArgumentException("prompt " + s + " has " + prompts[s].length + " tokens but the context holds " + context);
            }
            samplers[s] = new Sampler(sampling, prompts[s]);
            generated[s] = new int[Math.max(0, Math.min(sampling.maxTokens(), context - prompts[s].length + 1))];
            float[] logits = forward.prefill(s, prompts[s]);
            promptLogits[s] = Arrays.copyOf(logits, vocab);
            if (listener != null) {
                listener.accept(s, 0, promptLogits[s]);
            }
            pos[s] = prompts[s].length;
            going[s] = sampling.maxTokens() > 0;
            if (going[s]) {
                going[s] = choose(s, logits, samplers, generated, count, sampling, eos, vocab);
            }
        }
        List<Long> nanos = new ArrayList<>();
        List<Integer> rowsPerStep = new ArrayList<>();
        while (true) {
            int rows = 0;
            for (int s = 0; s < b; s++) {
                if (going[s] && pos[s] >= context) {
                    going[s] = false;   // Session's CONTEXT_FULL
                }
                rows += going[s] ? 1 : 0;
            }
            if (rows == 0) {
                break;
            }
            int[] seqs = new int[rows], tokens = new int[rows], positions = new int[rows];
            for (int s = 0, i = 0; s < b; s++) {
                if (going[s]) {
                    seqs[i] = s;
                    tokens[i] = generated[s][count[s] - 1];
                    positions[i++] = pos[s];
                }
            }
            long t0 = System.nanoTime();
            float[] logits = forward.decode(seqs, tokens, positions);
            nanos.add(System.nanoTime() - t0);
            rowsPerStep.add(rows);
            for (int i = 0; i < rows; i++) {
                int s = seqs[i];
                pos[s]++;
                float[] row = Arrays.copyOfRange(logits, i * vocab, (i + 1) * vocab);
                if (listener != null) {
                    listener.accept(s, count[s], row);
                }
                going[s] = choose(s, row, samplers, generated, count, sampling, eos, vocab);
            }
        }
        int[][] ids = new int[b][];
        for (int s = 0; s < b; s++) {
            ids[s] = Arrays.copyOf(generated[s], count[s]);
        }
        return new Outcome(ids, promptLogits, nanos.stream().mapToLong(Long::longValue).toArray(),
                rowsPerStep.stream().mapToInt(Integer::intValue).toArray());
    }

    /** Samples sequence s's next id; whether it goes on (Session: max tokens, EOS, stop ids). */
    private static boolean choose(int s, float[] logits, Sampler[] samplers, int[][] generated, int[] count,
                                  Sampling sampling, int eos, int vocab) {
        int next = samplers[s].sample(logits, vocab);
        generated[s][count[s]++] = next;
        boolean stop = sampling.stopAtEos() && next == eos || sampling.isStopToken(next);
        return !stop && count[s] < sampling.maxTokens() && count[s] < generated[s].length;
    }
}
