package dev.tandem.runtime.compiler;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.model.LlamaConfig;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CompilerTest {
    private final Catalog catalog = new Catalog();
    private final Compiler compiler = new Compiler(CostModel.roofline());

    private Pool pool(String text) { return PoolParser.parse(text, catalog); }

    private Plan auto(ModelGraph g, String pool, Workload w) {
        return compiler.compile(g, pool(pool), w, Policy.AUTO, Objective.lowestTpot());
    }

    @Test
    void llama3_8bOnOneH100IsBoundByReadingItsWeightsAndKv() {
        ModelGraph g = ModelShapes.shape("llama-3-8b");
        Workload w = new Workload(1, 128, 2048);
        Plan p = compiler.compile(g, pool("h100"), w, Policy.SINGLE, Objective.lowestTpot());
        double bw = catalog.resolve("h100", 1).spec().memoryBandwidth();
        long bytes = 0;
        int launches = 0;
        for (Op op : g.ops(Phase.DECODE, w)) {
            bytes += op.bytesMoved();
            launches += op.launches();
        }
        double floorMs = bytes / bw * 1e3;
        double ceilingMs = floorMs + launches * Catalog.GPU_LAUNCH_SECONDS * 1e3;
        // ~16 GB of f16 weights over 3.35 TB/s: about 4.8 ms plus launches.
        assertTrue(bytes > 15e9 && bytes < 17e9, "bytes " + bytes);
        assertTrue(p.predicted().tpotMs() >= floorMs && p.predicted().tpotMs() <= ceilingMs * 1.001,
                p.predicted().tpotMs() + " not in [" + floorMs + ", " + ceilingMs + "]");
        assertEquals(1000 / p.predicted().tpotMs(), p.predicted().tokensPerSPerUser(), 1e-9);
        // Energy: 700 W for the decode step and the prefill, per generated token.
        assertTrue(p.predicted().joulesPerToken() > 0.7 * p.predicted().tpotMs() / 1e3 * 700 * 0.99);
        assertEquals(2 * 32 + 2, p.placement().stream().filter(x -> x.phase().equals("decode")).count());
    }

    @Test
    void capacityErrorNamesWhatWhereBytesAndMinimumDevices() {
        CapacityException e = assertThrows(CapacityException.class, () -> compiler.compile(ModelShapes.shape("llama-2-70b"),
                pool("h100"), new Workload(1, 128, 4096), Policy.SINGLE, Objective.lowestTpot()));
        assertEquals(2, e.minDevices());
        assertEquals("h100", e.where());
        assertTrue(e.shortBytes() > 50e9, "138 GB of weights against 80 GB: " + e.shortBytes());
        assertTrue(e.getMessage().contains("llama-2-70b") && e.getMessage().contains("needs at least 2 h100"), e.getMessage());
    }

    @Test
    void policiesThatCannotApplySaySo() {
        assertThrows(PolicyException.class, () -> compiler.compile(ModelShapes.shape("llama-2-7b"), pool("h100*2"),
                new Workload(1, 16, 64), Policy.AFD, Objective.lowestTpot()));
        assertThrows(PolicyException.class, () -> Policy.parse("fastest"));
    }

    @Test
    void moreDevicesOfAKindNeverPredictSlower() {
        ModelGraph q8 = ModelShapes.shape("llama-2-7b").withFormat(WeightFormat.Q8_0);
        Workload w = new Workload(4, 64, 1024);
        double previous = Double.MAX_VALUE;
        for (int n = 1; n <= 8; n++) {
            double t = auto(q8, "h100*" + n, w).predicted().tpotMs();
            assertTrue(t <= previous + 1e-12, n + " h100: " + t + " > " + previous);
            previous = t;
        }
        previous = Double.MAX_VALUE;
        for (int n = 16; n <= 40; n += 4) {
            double t = auto(q8, "h100," + "lp30*" + n, w).predicted().tpotMs();
            assertTrue(t <= previous + 1e-12, n + " lp30: " + t + " > " + previous);
            previous = t;
        }
    }

    /**
     * Below a placement's capacity limit a bigger batch never lowers system tokens/s. (Across the
     * limit auto may move the KV cache to another group and drop: that is the limit, not a batch effect.)
     */
    @Test
    void biggerBatchesNeverLowerSystemThroughputBelowCapacity() {
        ModelGraph g = ModelShapes.shape("llama-2-7b").withFormat(WeightFormat.Q8_0);
        record Case(String pool, Policy policy) {}
        for (Case c : List.of(new Case("h100", Policy.SINGLE), new Case("h100,lp30*32", Policy.AFD),
                new Case("lp30*64", Policy.LPU_ONLY))) {
            double previous = 0;
            int fitted = 0;
            for (int b = 1; b <= 256; b *= 2) {
                Plan p;
                try {
                    p = compiler.compile(g, pool(c.pool()), new Workload(b, 64, 1024), c.policy(), Objective.lowestTpot());
                } catch (CapacityException e) {
                    break;
                }
                assertTrue(p.predicted().tokensPerS() >= previous * (1 - 1e-12), c + " batch " + b);
                previous = p.predicted().tokensPerS();
                fitted++;
            }
            assertTrue(fitted >= 2, c + " fits at batch 2");
        }
    }

    /** A small model every device holds, so every assignment is feasible and the search is exhaustive. */
    static ModelGraph toy() {
        return ModelGraph.dense("toy", new LlamaConfig(1024, 2816, 4, 16, 4, 8192, 2048, 1e-5f, 1e4f, null), WeightFormat.Q8_0);
    }

    @Test
    void bruteForceOverPlacementsFindsNothingBetterThanAuto() {
        List<String> pools = List.of("h100*2,lp30*2", "h100,h200,lp30,groqchip1", "groqchip1*4", "b200*3,lp30", "rubin,groqchip1*3");
        Objective judge = Objective.lowestTpot();
        for (String text : pools) {
            for (Workload w : List.of(new Workload(1, 32, 512), new Workload(8, 32, 512))) {
                Pool pool = pool(text);
                Plan auto = compiler.compile(toy(), pool, w, Policy.AUTO, judge);
                int tried = 0;
                // Every role -> group assignment, with every sub-count of each group's devices.
                for (Assignment a : allAssignmentsWithSubsets(pool)) {
                    Plan p = compiler.evaluate(toy(), pool, w, a, judge);
                    tried++;
                    assertFalse(p.predicted().tpotMs() < auto.predicted().tpotMs() * (1 - 1e-9),
                            text + ": " + a + " gives " + p.predicted() + ", auto " + auto.predicted());
                }
                assertTrue(tried >= pool.groups().size());
            }
        }
    }

    private static List<Assignment> allAssignmentsWithSubsets(Pool pool) {
        List<Assignment> out = new ArrayList<>();
        for (Assignment a : Compiler.candidates(pool, Policy.AUTO)) {
            for (int x = 1; x <= a.prefill().count(); x++) {
                for (int y = 1; y <= a.attention().count(); y++) {
                    for (int z = 1; z <= a.ffn().count(); z++) {
                        DeviceGroup p = a.prefill().withCount(x), at = a.attention().withCount(y), f = a.ffn().withCount(z);
                        // A group shared by two roles has one size.
                        if (Assignment.same(p, at) && x != y || Assignment.same(p, f) && x != z || Assignment.same(at, f) && y != z) {
                            continue;
                        }
                        out.add(new Assignment(p, at, f));
                    }
                }
            }
        }
        return out;
    }

    @Test
    void seventyBOnGroqChipsAndGpusCompiles() {
        ModelGraph g = ModelShapes.shape("llama-2-70b").withFormat(WeightFormat.Q8_0);
        Plan p = auto(g, "groqchip1*576,h100*8", new Workload(1, 512, 4096));
        assertTrue(p.predicted().tpotMs() > 0 && Double.isFinite(p.predicted().tpotMs()));
        Plan lpu = compiler.compile(g, pool("groqchip1*576,h100*8"), new Workload(1, 512, 4096), Policy.LPU_ONLY, Objective.lowestTpot());
        assertEquals("lpu-only", lpu.chosen());
        assertTrue(lpu.memory().groups().getFirst().bytesPerDevice() <= 220L << 20);
    }

    @Test
    void mixtralReadsOnlyTheExpertsItRoutesTo() {
        ModelGraph m = ModelShapes.shape("mixtral-8x7b");
        Op one = m.ops(Phase.DECODE, new Workload(1, 16, 64)).get(2);
        Op many = m.ops(Phase.DECODE, new Workload(256, 16, 64)).get(2);
        assertEquals(OpKind.FFN, one.kind());
        assertTrue(one.weightBytesRead() < one.weightBytes() / 3.9, "top-2 of 8 reads about a quarter");
        assertTrue(many.weightBytesRead() > many.weightBytes() * 0.99, "a big batch touches every expert");
        // ~46.7B parameters in f16.
        assertTrue(m.weightBytes() > 90e9 && m.weightBytes() < 95e9, "" + m.weightBytes());
    }
}
