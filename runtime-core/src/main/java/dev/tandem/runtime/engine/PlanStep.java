package dev.tandem.runtime.engine;

import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.device.BatchRows;
import dev.tandem.runtime.device.KvPoolSpec;
import dev.tandem.runtime.exec.PagedPlanForward;
import dev.tandem.runtime.exec.PlanDevices;
import dev.tandem.runtime.exec.PlanForward.Executed;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.LlamaWeights;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * An engine step on a compiled plan's placement ({@link PagedPlanForward}: the same stages and
 * blocks `tandem run` executes, with the paged KV pool on the attention group). A step's prompt rows
 * (chunks of any number of sequences) go through the prefill route together; its rows of generated
 * tokens (a decode token per sequence, or after a preemption the tokens it recomputes) then go
 * through the decode route, as two ping-ponging micro-batches where the plan puts attention and FFN
 * on different groups and the step has two rows or more. Where prefill and decode attention are
 * different groups (disagg), a sequence's KV rows move from the prefill group's pool to the decode
 * group's, under the same block table, as soon as its prompt has run, before its first generated
 * token runs. Step-thread only.
 */
final class PlanStep implements StepForward {
    private final PagedPlanForward forward;
    private final int vocab;

    PlanStep(Plan plan, LlamaConfig c, LlamaWeights w, float[] ropeInvFreq, KvPoolSpec pool, int maxRows, int maxHeads) {
        this.vocab = c.vocabSize();
        // Decode rows are a token per sequence, but a sequence recomputed after preemption runs its generated tokens
        // on the decode route too, as many as a step holds.
        this.forward = new PagedPlanForward(plan, c, w, ropeInvFreq, pool, maxRows, maxRows, maxHeads, true, PlanDevices::open,
                "(weights, a KV pool of " + pool.positions() + " positions and " + maxRows + "-row scratch)");
    }

    /** The stage labels and the devices behind them. */
    Map<String, String> devices() { return forward.devices(); }

    boolean pingPongs() { return forward.pingPongs(); }

    /** The ops and moves since the last call. */
    List<Executed> drainLog() { return forward.drainLog(); }

    /**
     * Rows [pos0, pos0 + count) of one segment on one route; head is the segment's logits row in the
     * step's output, or -1; movesKv: these rows complete the prompt, whose KV rows then move.
     */
    private record Part(RequestState request, int pos0, int count, int head, boolean movesKv) {}

    @Override
    public float[] step(Scheduler.Step step) {
        List<Part> prefill = new ArrayList<>(), decode = new ArrayList<>();
        int heads = 0;
        for (Scheduler.Segment s : step.segments()) {
            // A prompt's rows run where the plan prefills, a generated token's where it decodes, so a sequence
            // recomputed after preemption gets the bits it had (the devices of the two routes may differ in the last bit).
            int prompt = s.request().prompt.length, end = s.pos0() + s.count();
            int head = s.needsLogits() ? heads++ : -1;
            if (s.pos0() < prompt) {
                int n = Math.min(end, prompt) - s.pos0();
                prefill.add(new Part(s.request(), s.pos0(), n, end <= prompt ? head : -1, s.pos0() + n == prompt));
            }
            if (end > prompt) {
                int from = Math.max(s.pos0(), prompt);
                decode.add(new Part(s.request(), from, end - from, head, false));
            }
        }
        float[] out = new float[heads * vocab];
        if (!prefill.isEmpty()) {
            Rows r = rows(prefill);
            int sequence = prefill.size() == 1 ? (int) prefill.getFirst().request().id : -1;
            scatter(forward.prefill(r.tokens, r.rows, r.logitRows, sequence), prefill, out);
            if (forward.movesKv()) {
                for (Part p : prefill) {
                    if (p.movesKv()) {
                        forward.moveKv(p.request().blockTable, p.pos0() + p.count(), (int) p.request().id);
                    }
                }
            }
        }
        if (!decode.isEmpty()) {
            Rows r = rows(decode);
            scatter(forward.decode(r.tokens, r.rows, r.logitRows), decode, out);
        }
        return out;
    }

    /** Each part's logits row (in the order rows() listed them) to its place in the step's output. */
    private void scatter(float[] logits, List<Part> parts, float[] out) {
        int k = 0;
        for (Part p : parts) {
            if (p.head() >= 0) {
                System.arraycopy(logits, k++ * vocab, out, p.head() * vocab, vocab);
            }
        }
    }

    private record Rows(int[] tokens, BatchRows rows, int[] logitRows) {}

    /** The parts' rows in order, and which of them end a part that wants logits. */
    private static Rows rows(List<Part> parts) {
        int n = 0, heads = 0;
        for (Part p : parts) {
            n += p.count();
            heads += p.head() >= 0 ? 1 : 0;
        }
        int[] tokens = new int[n], positions = new int[n], logitRows = new int[heads];
        int[][] tables = new int[n][];
        int row = 0, head = 0;
        for (Part p : parts) {
            for (int i = 0; i < p.count(); i++, row++) {
                tokens[row] = p.request().token(p.pos0() + i);
                positions[row] = p.pos0() + i;
                tables[row] = p.request().blockTable;
            }
            if (p.head() >= 0) {
                logitRows[head++] = row - 1;
            }
        }
        return new Rows(tokens, new BatchRows(positions, tables), logitRows);
    }

    @Override
    public void close() {
        forward.close();
    }
}
