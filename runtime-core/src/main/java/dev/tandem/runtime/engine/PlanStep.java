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
 * blocks `tandem run` executes, with the paged KV pool on the attention group). A step's prefill
 * segments (prompt chunks of any number of sequences) go through the prefill route together; its
 * decode rows then go through the decode route, as two ping-ponging micro-batches where the plan
 * puts attention and FFN on different groups and the step has two decode rows or more. Where
 * prefill and decode attention are different groups (disagg), a sequence's KV rows move from the
 * prefill group's pool to the decode group's, under the same block table, as soon as its prefill
 * (or recompute) is complete, before it decodes. Step-thread only.
 */
final class PlanStep implements StepForward {
    private final PagedPlanForward forward;
    private final int vocab;

    PlanStep(Plan plan, LlamaConfig c, LlamaWeights w, float[] ropeInvFreq, KvPoolSpec pool, int maxRows, int maxHeads) {
        this.vocab = c.vocabSize();
        this.forward = new PagedPlanForward(plan, c, w, ropeInvFreq, pool, maxRows, maxHeads, maxHeads, true, PlanDevices::open,
                "(weights, a KV pool of " + pool.positions() + " positions and " + maxRows + "-row scratch)");
    }

    /** The stage labels and the devices behind them. */
    Map<String, String> devices() { return forward.devices(); }

    boolean pingPongs() { return forward.pingPongs(); }

    /** The ops and moves since the last call. */
    List<Executed> drainLog() { return forward.drainLog(); }

    @Override
    public float[] step(Scheduler.Step step) {
        List<Scheduler.Segment> segments = step.segments();
        // Logits rows come in the order of the segments that want them (Scheduler.build): head[i] is segment i's.
        int[] head = new int[segments.size()];
        List<Integer> prefill = new ArrayList<>(), decode = new ArrayList<>();
        for (int i = 0, h = 0; i < segments.size(); i++) {
            head[i] = segments.get(i).needsLogits() ? h++ : -1;
            (segments.get(i).decode() ? decode : prefill).add(i);
        }
        float[] out = new float[step.logitRows().length * vocab];
        if (!prefill.isEmpty()) {
            Rows r = rows(segments, prefill);
            int sequence = prefill.size() == 1 ? (int) segments.get(prefill.getFirst()).request().id : -1;
            float[] logits = forward.prefill(r.tokens, r.rows, r.logitRows, sequence);
            int k = 0;
            for (int i : prefill) {
                Scheduler.Segment s = segments.get(i);
                if (s.needsLogits()) {
                    System.arraycopy(logits, k++ * vocab, out, head[i] * vocab, vocab);
                    if (forward.movesKv()) {
                        forward.moveKv(s.request().blockTable, s.pos0() + s.count(), (int) s.request().id);
                    }
                }
            }
        }
        if (!decode.isEmpty()) {
            Rows r = rows(segments, decode);
            float[] logits = forward.decode(r.tokens, r.rows);
            for (int k = 0; k < decode.size(); k++) {
                System.arraycopy(logits, k * vocab, out, head[decode.get(k)] * vocab, vocab);
            }
        }
        return out;
    }

    private record Rows(int[] tokens, BatchRows rows, int[] logitRows) {}

    /** The rows of segments picked (in order), and which of them end a segment that wants logits. */
    private static Rows rows(List<Scheduler.Segment> segments, List<Integer> picked) {
        int n = 0, heads = 0;
        for (int i : picked) {
            n += segments.get(i).count();
            heads += segments.get(i).needsLogits() ? 1 : 0;
        }
        int[] tokens = new int[n], positions = new int[n], logitRows = new int[heads];
        int[][] tables = new int[n][];
        int row = 0, head = 0;
        for (int p : picked) {
            Scheduler.Segment s = segments.get(p);
            for (int i = 0; i < s.count(); i++, row++) {
                tokens[row] = s.request().token(s.pos0() + i);
                positions[row] = s.pos0() + i;
                tables[row] = s.request().blockTable;
            }
            if (s.needsLogits()) {
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
