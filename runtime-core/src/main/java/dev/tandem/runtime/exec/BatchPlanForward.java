package dev.tandem.runtime.exec;

import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.device.BatchRows;
import dev.tandem.runtime.device.DevicePagedAttention;
import dev.tandem.runtime.device.KvPoolSpec;
import dev.tandem.runtime.exec.PlanForward.Executed;
import dev.tandem.runtime.exec.PlanForward.StageOpener;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.LlamaWeights;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A plan's forward pass for B sequences at once: {@link PlanForward}'s routes (prefill on the prefill
 * group; decode attention, embedding and head on the attention group, FFN on the FFN group), with each
 * layer's attention a {@link DevicePagedAttention} over one KV pool that holds every sequence's
 * blocks ({@link PagedPlanForward} places and steps them). A prompt prefills in chunks on its own; a
 * decode step runs one row per sequence, each at its own position, through every block together.
 * Where prefill and decode attention are different groups, each sequence's prompt KV moves after its
 * prefill, block table by block table.
 *
 * <p>Micro-batches: when decode attention and FFN are on different groups and a step has two rows
 * or more, the rows split into two halves that ping-pong ({@link PagedPlanForward#decode}). Every
 * row's arithmetic is its own (the blocks are batch-invariant), so the ids and logits do not depend
 * on whether or how the rows split.
 *
 * <p>Not thread-safe: one caller drives it; the second micro-batch's thread is its own.
 */
public final class BatchPlanForward implements AutoCloseable {
    private final LlamaConfig c;
    private final int sequences, maxPositions, chunk;
    private final int[][] tables;
    private final PagedPlanForward paged;

    /**
     * Opens every stage's device with opener (closed again by {@link #close()}), checks each stage's
     * footprint for a pool of sequences × maxPositions positions, and places the plan's blocks.
     *
     * @param microBatches whether a decode step whose attention and FFN groups differ runs as two
     *                     ping-ponging halves (the plan's schedule) or as one batch
     */
    public BatchPlanForward(Plan plan, LlamaConfig config, LlamaWeights weights, float[] ropeInvFreq, int sequences,
                            int maxPositions, int prefillChunk, boolean microBatches, StageOpener opener) {
        if (sequences < 1) {
            throw new IllegalArgumentException("a batch needs at least 1 sequence, got " + sequences);
        }
        if (maxPositions < 1 || maxPositions > config.contextLength()) {
            throw new IllegalArgumentException("maxPositions must be in [1, " + config.contextLength() + "], got " + maxPositions);
        }
        this.c = config;
        this.sequences = sequences;
        this.maxPositions = maxPositions;
        this.chunk = prefillChunk;
        int maxRows = Math.max(prefillChunk, sequences);
        int perSequence = (maxPositions + KvPoolSpec.DEFAULT_BLOCK_SIZE - 1) / KvPoolSpec.DEFAULT_BLOCK_SIZE;
        KvPoolSpec pool = new KvPoolSpec(KvPoolSpec.DEFAULT_BLOCK_SIZE, perSequence * sequences);
        // Interleaved: sequence s owns blocks s, s + B, s + 2B, ..., so no sequence's cache is contiguous.
        this.tables = new int[sequences][perSequence];
        for (int s = 0; s < sequences; s++) {
            for (int b = 0; b < perSequence; b++) {
                tables[s][b] = b * sequences + s;
            }
        }
        this.paged = new PagedPlanForward(plan, config, weights, ropeInvFreq, pool, maxRows, maxRows, maxRows, microBatches, opener,
                "(weights, a KV pool of " + sequences + " x " + maxPositions + " positions and " + maxRows + "-row scratch)");
    }

    public int sequences() { return sequences; }

    public int maxPositions() { return maxPositions; }

    /** Whether decode steps of two rows or more run as two ping-ponging micro-batches. */
    public boolean pingPongs() { return paged.pingPongs(); }

    /** Every op and move since the last {@link #clearLog()}, in the order they ran (two micro-batches' interleaved). */
    public List<Executed> log() { return paged.log(); }

    public void clearLog() { paged.clearLog(); }

    /** The stage labels and the devices behind them, in the order they were opened. */
    public Map<String, String> devices() { return paged.devices(); }

    /** What each device says about its run (an emulator's utilisation), by stage. */
    public Map<String, String> reports() { return paged.reports(); }

    /**
     * Prefills sequence seq with tokens at positions [0, tokens.length), overwriting what it held,
     * and returns the logits after its last token (vocab).
     */
    public float[] prefill(int seq, int[] tokens) {
        checkSequence(seq);
        if (tokens.length == 0 || tokens.length > maxPositions) {
            throw new IllegalArgumentException("a prompt has 1 to " + maxPositions + " tokens, got " + tokens.length);
        }
        PlacedPlan.checkTokens(c, tokens);
        float[] out = null;
        for (int done = 0; done < tokens.length; done += chunk) {
            int n = Math.min(chunk, tokens.length - done);
            boolean last = done + n == tokens.length;
            out = paged.prefill(Arrays.copyOfRange(tokens, done, done + n), BatchRows.sequence(tables[seq], done, n),
                    last ? new int[] {n - 1} : new int[0], seq);
        }
        if (paged.movesKv()) {
            paged.moveKv(tables[seq], tokens.length, seq);
        }
        return out;
    }

    /**
     * One decode step: row i is token tokens[i] of sequence seqs[i] at position positions[i] (each
     * sequence at most once, its earlier positions already cached). Returns (rows, vocab) logits.
     */
    public float[] decode(int[] seqs, int[] tokens, int[] positions) {
        int rows = seqs.length;
        if (rows < 1 || rows > sequences || tokens.length != rows || positions.length != rows) {
            throw new IllegalArgumentException("a decode step has 1 to " + sequences + " rows with a token and a position each, got "
                    + rows + " sequences, " + tokens.length + " tokens, " + positions.length + " positions");
        }
        PlacedPlan.checkTokens(c, tokens);
        int[][] rowTables = new int[rows][];
        for (int i = 0; i < rows; i++) {
            checkSequence(seqs[i]);
            if (positions[i] < 0 || positions[i] >= maxPositions) {
                throw new IllegalArgumentException("row " + i + ": position " + positions[i] + " is outside [0, " + maxPositions + ")");
            }
            rowTables[i] = tables[seqs[i]];
        }
        return paged.decode(tokens, new BatchRows(positions, rowTables));
    }

    private void checkSequence(int seq) {
        if (seq < 0 || seq >= sequences) {
            throw new IllegalArgumentException("sequence " + seq + " is outside [0, " + sequences + ")");
        }
    }

    @Override
    public void close() {
        paged.close();
    }
}
