package dev.tandem.runtime.compiler;

import java.util.Collections;
import java.util.List;

/**
 * The rows one run of an op holds and how its KV cache is laid out, for a device whose op cost is
 * exact (an emulated LPU's cycles) and depends on them: rows come in runs, each run consecutive
 * positions of one sequence (a prefill chunk, or a decode row), and each run a different sequence
 * that owns the KV blocks its rows are written to.
 *
 * <p>Read by phase: a {@link Phase#PREFILL} op runs each run on its own, in chunks of
 * {@link ModelGraph#PREFILL_CHUNK} rows (how the executors prefill); a {@link Phase#DECODE} op is
 * one step of every run together, so a run of several rows there is a prefill chunk sharing a step
 * with decode rows.
 *
 * @param kvBlockSize positions per block of a paged KV pool; 0 for a contiguous cache per sequence
 * @param runs        the runs in row order
 */
public record BatchShape(int kvBlockSize, List<Run> runs) {
    /** Rows of one sequence at positions pos0 .. pos0 + rows - 1; the row at pos0 + i attends [0, pos0 + i]. */
    public record Run(int pos0, int rows) {
        public Run {
            if (pos0 < 0 || rows < 1) {
                throw new IllegalArgumentException("a run needs pos0 >= 0 and rows >= 1, got " + pos0 + ", " + rows);
            }
        }

        /** Positions the run's sequence holds once its rows are written. */
        public int positions() { return pos0 + rows; }
    }

    public BatchShape {
        if (kvBlockSize < 0) {
            throw new IllegalArgumentException("kvBlockSize must be >= 0, got " + kvBlockSize);
        }
        runs = List.copyOf(runs);
    }

    /** What a workload's op of a phase holds with a contiguous cache: each prompt whole, or a decode row per sequence at the context's last position. */
    public static BatchShape of(Phase phase, Workload w) {
        Run run = phase == Phase.PREFILL ? new Run(0, w.promptLen()) : new Run(w.context() - 1, 1);
        return new BatchShape(0, Collections.nCopies(w.batch(), run));
    }

    /** Rows in all runs. */
    public int rows() { return runs.stream().mapToInt(Run::rows).sum(); }

    /** Whether the KV cache is a pool of blocks (a batch executor's) rather than one contiguous cache per sequence. */
    public boolean paged() { return kvBlockSize > 0; }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(paged() ? "paged/" + kvBlockSize : "contiguous");
        for (Run r : runs) {
            b.append(' ').append(r.pos0()).append('+').append(r.rows());
        }
        return b.toString();
    }
}
