package dev.tandem.runtime.compiler;

import dev.tandem.runtime.error.TandemException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GpuServingModelTest {
    private final Catalog catalog = new Catalog();

    private GpuServingModel model(String shape, String gpu, int count, ServingFormat w, ServingFormat kv, int isl, int osl) {
        return new GpuServingModel(ModelShapes.shape(shape), w, kv, new ServingWorkload(isl, osl), catalog.resolve(gpu, count),
                GpuFigures.of(gpu).orElseThrow());
    }

    private static final GpuServingModel.Layout TP1 = new GpuServingModel.Layout(1, 1, 1);

    @Test
    void moreBatchNeverLowersSystemThroughputUntilTheKvCacheIsFull() {
        for (int[] wl : new int[][] {{128, 128}, {1000, 2000}, {2048, 128}, {20000, 2000}}) {
            for (var m : List.of(model("llama-3-70b", "h200", 1, ServingFormat.FP8, ServingFormat.FP8, wl[0], wl[1]),
                    model("llama-3-8b", "h100", 1, ServingFormat.BF16, ServingFormat.BF16, wl[0], wl[1]))) {
                int max = m.maxBatch(TP1);
                assertTrue(max >= 2, "fits a batch: " + max);
                double system = 0, user = Double.MAX_VALUE;
                for (int b = 1; b <= max; b += Math.max(1, b / 7)) {
                    FrontierPoint p = m.point(TP1, b);
                    assertTrue(p.tokensPerSecondPerSystem() >= system, "batch " + b + " lowers system tokens/s");
                    assertTrue(p.tokensPerSecondPerUser() <= user, "batch " + b + " speeds a user up");
                    system = p.tokensPerSecondPerSystem();
                    user = p.tokensPerSecondPerUser();
                }
            }
        }
    }

    @Test
    void longerContextNeverSpeedsAttention() {
        var m = model("llama-3-70b", "h100", 2, ServingFormat.FP8, ServingFormat.BF16, 1000, 1000);
        double previous = 0;
        for (int ctx = 1; ctx <= 131072; ctx *= 2) {
            double t = m.decodeAttentionSeconds(64, ctx, 2);
            assertTrue(t > previous, "context " + ctx);
            previous = t;
        }
        // Whole iterations too: the same batch with longer prompts never runs faster per step.
        GpuServingModel.Layout tp2 = new GpuServingModel.Layout(2, 1, 1);
        double tpot = 0;
        for (int isl : new int[] {128, 1024, 4096, 16384}) {
            double t = model("llama-3-70b", "h100", 2, ServingFormat.FP8, ServingFormat.BF16, isl, 1000).point(tp2, 8).tpotMs();
            assertTrue(t > tpot, "ISL " + isl);
            tpot = t;
        }
    }

    @Test
    void kvPagesFollowActualLengthsAtPageGranularity() {
        // Positions 17..32 each need 2 pages of 16.
        assertEquals(2.0, new ServingWorkload(16, 16).meanPages(16), 1e-12);
        // Positions 11..20: six need 1 page, four need 2.
        assertEquals(1.4, new ServingWorkload(10, 10).meanPages(16), 1e-12);
        for (int m = 0; m < 300; m++) {
            long brute = 0;
            for (int n = 1; n <= m; n++) {
                brute += (n + 15) / 16;
            }
            assertEquals(brute, ServingWorkload.ceilDivPrefix(m, 16), "m " + m);
        }
        // A sequence holds its mean pages, not the full context: 1000:1000 holds ~1,500 positions.
        var m = model("llama-3-8b", "h100", 1, ServingFormat.BF16, ServingFormat.BF16, 1000, 1000);
        double perToken = m.kvBytesPerTokenPerLayer() * 32;
        assertEquals(1508.5 * perToken, m.kvBytesPerSequencePerDevice(TP1), perToken * 8);
    }

    @Test
    void fp8HalvesWeightBytesAndTheKvCache() {
        var bf16 = model("llama-3-70b", "h200", 1, ServingFormat.BF16, ServingFormat.BF16, 1000, 1000);
        var fp8 = model("llama-3-70b", "h200", 1, ServingFormat.FP8, ServingFormat.FP8, 1000, 1000);
        // The vocabulary tables stay BF16 in FP8 checkpoints; every layer matrix halves.
        double tables = 2.0 * 128256 * 8192 * 2;
        assertEquals((bf16.weightBytesPerDevice(TP1) - tables) / 2, fp8.weightBytesPerDevice(TP1) - tables, 1);
        assertEquals(bf16.kvBytesPerTokenPerLayer() / 2, fp8.kvBytesPerTokenPerLayer(), 0);
        // 141 GB of BF16 weights leave room for a few sequences on one H200 (140 GiB); FP8 for many more.
        assertTrue(bf16.maxBatch(TP1) > 0 && bf16.maxBatch(TP1) < 30, "" + bf16.maxBatch(TP1));
        assertTrue(fp8.maxBatch(TP1) > 10 * bf16.maxBatch(TP1), "" + fp8.maxBatch(TP1));
        assertEquals(0, model("llama-3-70b", "h100", 1, ServingFormat.BF16, ServingFormat.BF16, 1000, 1000).maxBatch(TP1),
                "BF16 70B does not fit one H100");
        var nvfp4 = model("llama-3-70b", "b200", 1, ServingFormat.NVFP4, ServingFormat.FP8, 1000, 1000);
        assertTrue(nvfp4.weightBytesPerDevice(TP1) - tables < (fp8.weightBytesPerDevice(TP1) - tables) * 0.57);
        assertThrows(ServingFormat.FormatException.class,
                () -> model("llama-3-70b", "h100", 1, ServingFormat.NVFP4, ServingFormat.FP8, 1000, 1000));
    }

    @Test
    void tensorParallelismPaysARingAllReduce() {
        var m = model("llama-3-70b", "h100", 8, ServingFormat.FP8, ServingFormat.FP8, 1000, 1000);
        assertEquals(0, m.allReduceSeconds(1e6, 1));
        // 1 MB: NCCL's LL protocol (3.6 us + 0.4 us a hop, half the bus bandwidth) is the fastest.
        double bytes = 64 * 8192 * 2;
        assertEquals(3.6e-6 + 14 * 0.4e-6 + bytes * 14 / 8 / (479.7e9 * 0.5), m.allReduceSeconds(bytes, 8), 1e-12);
        // 256 MB: bandwidth dominates; Simple (full bus bandwidth) wins.
        double big = 256e6;
        assertEquals(8.4e-6 + 14 * 5.7e-6 + big * 14 / 8 / 479.7e9, m.allReduceSeconds(big, 8), 1e-12);
        assertTrue(m.allReduceSeconds(bytes, 8) > m.allReduceSeconds(bytes, 2));
        var one = m.stagePass(64, 64, 1, 1, 80, true);
        var eight = m.stagePass(64, 64, 1, 8, 80, true);
        assertEquals(0, one.communication());
        // Two all-reduces per layer of the iteration's 128 hidden states.
        assertEquals(80 * 2 * m.allReduceSeconds(128 * 8192 * 2.0, 8), eight.communication(), 1e-12);
    }

    @Test
    void frontierPricesAnyBatchSizeAndKeepsTheParetoPoints() {
        var compiler = new Compiler(CostModel.roofline());
        Frontier f = compiler.frontier(ModelShapes.shape("llama-3-8b"), PoolParser.parse("h100*2", catalog), Policy.SINGLE,
                new ServingWorkload(1000, 1000), ServingFormat.FP8, ServingFormat.FP8);
        assertTrue(f.points().stream().anyMatch(p -> p.batch() == 3 || p.batch() == 6), "not only powers of two");
        var tp1 = f.points().stream().filter(p -> p.tensorParallel() == 1).toList();
        int max = tp1.stream().mapToInt(FrontierPoint::batch).max().orElseThrow();
        var m = model("llama-3-8b", "h100", 2, ServingFormat.FP8, ServingFormat.FP8, 1000, 1000);
        assertEquals(m.maxBatch(new GpuServingModel.Layout(1, 1, 2)), max, "the KV cache's own limit is priced");
        assertTrue(tp1.stream().allMatch(p -> p.replicas() == 2 && p.concurrency() == 2 * p.batch()));
        List<FrontierPoint> pareto = f.pareto();
        assertFalse(pareto.isEmpty());
        for (FrontierPoint p : pareto) {
            assertTrue(f.points().stream().noneMatch(o -> o.dominates(p)));
        }
        FrontierPoint best = f.best(50).orElseThrow();
        assertTrue(best.tokensPerSecondPerUser() >= 50);
        assertTrue(f.points().stream().filter(p -> p.tokensPerSecondPerUser() >= 50)
                .allMatch(p -> p.tokensPerSecondPerSystem() <= best.tokensPerSecondPerSystem()));
        assertEquals(best.watts() / best.tokensPerSecondPerSystem(), best.joulesPerToken(), 1e-12);
    }

    @Test
    void lpuGroupsAndSplitPoliciesGetTheStaticPlansLabelled() {
        var compiler = new Compiler(CostModel.roofline());
        ModelGraph q8 = ModelShapes.shape("llama-2-7b").withFormat(dev.tandem.kernels.WeightFormat.Q8_0);
        Pool pool = PoolParser.parse("h100*2,lp30*32", catalog);
        Frontier auto = compiler.frontier(q8, pool, Policy.AUTO, new ServingWorkload(512, 512));
        assertTrue(auto.points().stream().anyMatch(p -> p.source().startsWith("steady state (h100)")));
        assertTrue(auto.points().stream().anyMatch(p -> p.source().startsWith("static plan")));
        Frontier afd = compiler.frontier(q8, pool, Policy.AFD, new ServingWorkload(512, 512));
        assertTrue(afd.points().stream().allMatch(p -> p.source().startsWith("static plan: afd")), afd.points().getFirst().source());
        // FP8 is the GPU model's alone: the static plans are left out with a note.
        Frontier fp8 = compiler.frontier(q8, pool, Policy.AUTO, new ServingWorkload(512, 512), ServingFormat.FP8, ServingFormat.FP8);
        assertTrue(fp8.points().stream().noneMatch(p -> p.source().startsWith("static plan")));
        assertTrue(fp8.notes().stream().anyMatch(n -> n.contains("GGUF")), fp8.notes().toString());
    }

    @Test
    void aModelTooBigForThePoolIsACapacityError() {
        var compiler = new Compiler(CostModel.roofline());
        CapacityException e = assertThrows(CapacityException.class, () -> compiler.frontier(ModelShapes.shape("llama-3.1-405b"),
                PoolParser.parse("h100*2", catalog), Policy.SINGLE, new ServingWorkload(128, 128), ServingFormat.FP8, ServingFormat.FP8));
        assertTrue(e.getMessage().contains("llama-3.1-405b") && e.minDevices() > 2, e.getMessage());
    }

    @Test
    void workloadsParseOrSayWhichFlagIsWrong() {
        assertEquals(new ServingWorkload(1024, 256), ServingWorkload.parse(" 1024:256 ", "--workload"));
        for (String bad : new String[] {"1024", "a:5", "0:5", "5:0", "1:2:3", "", ":", "99999999999:1", "-3:4"}) {
            TandemException e = assertThrows(ServingWorkload.WorkloadSyntaxException.class, () -> ServingWorkload.parse(bad, "--workload"),
                    bad);
            assertTrue(e.getMessage().startsWith("--workload '") && !e.getMessage().contains("\n"), e.getMessage());
        }
        assertThrows(ServingFormat.FormatException.class, () -> ServingFormat.parseKvCache("int4"));
    }
}
