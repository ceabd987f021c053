package dev.tandem.device.lpu;

import dev.tandem.conformance.SharedData;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.Compiler;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Objective;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.compiler.Policy;
import dev.tandem.runtime.compiler.PoolParser;
import dev.tandem.runtime.compiler.Workload;
import dev.tandem.runtime.exec.BatchPlanForward;
import dev.tandem.runtime.exec.ReferenceForward;
import dev.tandem.kernels.Ops;
import dev.tandem.runtime.run.BatchGeneration;
import dev.tandem.runtime.run.PlanRun;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Batch invariance across a plan, bit for bit: 64 sequences with different prompts and lengths run
 * together on a cpu + emulated-LP30 afd plan (attention on the host, every FFN on the chips, two
 * ping-ponging micro-batches of 32), and every logits row of every sequence equals its single-stream
 * {@link ReferenceForward} run's. The context is shared, so longer prompts stop earlier and the
 * later steps run ragged batches (64 rows shrinking to 1).
 */
class BatchPlanInvarianceTest {
    private static final int SEQUENCES = 64;
    private static final int CONTEXT = 40;

    @Test
    void sixtyFourSequencesOnAnAfdPlanEachEqualTheirSingleStreamRun() {
        Random r = new Random(12);
        int[][] prompts = new int[SEQUENCES][];
        try (Model m = Model.load(SharedData.model("stories260K.bin"))) {
            int vocab = m.config().vocabSize();
            for (int s = 0; s < SEQUENCES; s++) {
                prompts[s] = new int[1 + r.nextInt(CONTEXT - 4)];
                prompts[s][0] = 1;
                for (int i = 1; i < prompts[s].length; i++) {
                    prompts[s][i] = 3 + r.nextInt(vocab - 3);
                }
            }
            ModelGraph graph = ModelGraph.of(m);
            Compiler compiler = Compiler.withInstalledProviders();
            int longest = Arrays.stream(prompts).mapToInt(p -> p.length).max().orElseThrow();
            Plan plan = compiler.compile(graph, PoolParser.parse("cpu,lp30*2", new Catalog()), new Workload(SEQUENCES, longest, CONTEXT),
                    Policy.AFD, Objective.lowestTpot());
            assertEquals("afd", plan.chosen());
            Sampling greedy = new Sampling(0, 0, 1, 7, 1000, false);   // every sequence runs until the context is full
            List<List<float[]>> rows = new ArrayList<>();
            for (int s = 0; s < SEQUENCES; s++) {
                rows.add(new ArrayList<>());
            }
            BatchGeneration.Outcome out;
            try (BatchPlanForward f = new BatchPlanForward(plan, m.config(), m.weights(), m.ropeInvFreq(), SEQUENCES, CONTEXT,
                    ReferenceForward.DEFAULT_PREFILL_CHUNK, true, PlanRun::openStage)) {
                assertTrue(f.pingPongs());
                out = BatchGeneration.run(f, m, prompts, greedy, (seq, step, logits) -> rows.get(seq).add(logits));
            }
            assertEquals(SEQUENCES, out.stepRows()[0], "the first decode step runs every sequence");
            assertEquals(1, out.stepRows()[out.stepRows().length - 1], "the last runs the shortest prompt alone");
            for (int s = 0; s < SEQUENCES; s++) {
                try (ReferenceForward ref = new ReferenceForward(m.config(), m.weights(), m.ropeInvFreq(), CONTEXT,
                        ReferenceForward.DEFAULT_PREFILL_CHUNK)) {
                    float[] logits = ref.prefill(prompts[s], 0);
                    int expectedTokens = CONTEXT - prompts[s].length + 1;
                    assertEquals(expectedTokens, out.generated()[s].length, "sequence " + s);
                    assertEquals(expectedTokens, rows.get(s).size(), "sequence " + s);
                    for (int t = 0; t < expectedTokens; t++) {
                        assertArrayEquals(logits, rows.get(s).get(t), "sequence " + s + ", logits row " + t);
                        int next = Ops.argmax(logits, 0, m.config().vocabSize());   // greedy
                        assertEquals(next, out.generated()[s][t], "sequence " + s + ", id " + t);
                        if (t + 1 < expectedTokens) {
                            logits = ref.forward(next, prompts[s].length + t);
                        }
                    }
                }
            }
        }
    }
}
