package dev.tandem.device.lpu;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.ModelShapes;
import dev.tandem.runtime.compiler.PoolParser;
import dev.tandem.runtime.model.LlamaConfig;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The costs a deployed multi-chip system pays beyond an ideal chip (docs/lpu.md): the hops of the
 * topology, activation precision on the wire, synchronisation of a program's chips and the host's
 * round trip, each checked against a count worked out by hand, and priced alike by the compiler.
 */
class DeploymentCostsTest {
    private static final ChipConfig G = ChipConfig.GROQCHIP1;

    @Test
    void hopsFollowNodesRacksAndTheDragonfly() {
        assertEquals(1, G.hops(0, 7), "one node: fully connected");
        assertEquals(G.rackHops(), G.hops(0, 8), "another node of the rack");
        assertEquals(G.rackHops(), G.hops(3, 71), "the rack's last node (9 nodes of 8)");
        assertEquals(G.systemHops(), G.hops(0, 72), "another rack");
        assertEquals(3, G.rackHops());
        assertEquals(5, G.systemHops());
    }

    @Test
    void aStageHopAcrossRacksTakesTheHandCountedCycles() {
        ChipConfig c = G.with("nodeSyncCycles", "900").with("wireBytesPerElement", "2");
        int dim = 8192;
        Allocation from = new Allocation(0, "x", 0, 4L * dim, 0, Allocation.FOREVER);
        Allocation to = new Allocation(0, "x", 4096, 4L * dim, 0, Allocation.FOREVER);
        StaticProgram hop = LpuLlama.hop(c, from, to, dim, c.hops(0, 72));
        // 8192 fp32 values go as 16,384 fp16 bytes over one 120 Gb/s link at 900 MHz (16.67 B/cycle): 984 cycles;
        // 5 hops of 450 cycles; the receive's 1 + memLatency 5; the two nodes' alignment 900 first.
        assertEquals(900 + 984 + 5 * 450 + 6, hop.cycles());
        // The same transfer within a rack: 3 hops.
        assertEquals(900 + 984 + 3 * 450 + 6, LpuLlama.hop(c, from, to, dim, c.hops(0, 8)).cycles());
        // fp32 on the wire: twice the link time, ceil(32768 / 16.67) = 1967.
        assertEquals(900 + 1967 + 5 * 450 + 6, LpuLlama.hop(c.with("wireBytesPerElement", "4"), from, to, dim, 5).cycles());
    }

    @Test
    void syncIsPaidOncePerMultiChipProgramAndNeverByOneChip() {
        LlamaConfig cfg = BlockCostExactnessTest.ODD;
        ChipConfig none = G.with("chipSyncCycles", "0"), some = G.with("chipSyncCycles", "777");
        for (int tp : new int[] {1, 2, 3}) {
            long without = ffnCycles(none, cfg, tp), with = ffnCycles(some, cfg, tp);
            assertEquals(tp == 1 ? 0 : 777, with - without, "tp " + tp);
        }
    }

    private static long ffnCycles(ChipConfig chip, LlamaConfig c, int tp) {
        StageLayout.Filled stage = StageLayout.open(chip, tp, c.dim());
        WeightFormat[] f = {WeightFormat.Q8_0, WeightFormat.Q8_0, WeightFormat.Q8_0};
        BlockPlacement p = stage.memory.placeBlock((a, ids) -> FfnBlockLowering.place(chip, a, ids, c, f, 64));
        return FfnBlockLowering.lower(chip, c, p, stage.x, 1).cycles();
    }

    @Test
    void theHostRoundTripIsLatencyBothWaysTheLogitsAndSampling() {
        // PCIe 4 x16 at 256 Gb/s, 10 us each way; 32,000 fp16 logits = 512,000 bits = 2 us; 20 us of sampling.
        assertEquals(10e-6 + 10e-6 + 2e-6 + 20e-6, G.hostRoundTripSeconds(32000), 1e-12);
        assertEquals(37_800, G.hostRoundTripCycles(32000));
    }

    @Test
    void theCompilerPricesStageHopsAndTheHostRoundTripAsTheWholeStepDoes() {
        DeviceGroup group = PoolParser.parse("groqchip1*576", new Catalog()).groups().getFirst();
        ModelGraph graph = ModelGraph.dense("llama-2-70b", ModelShapes.shape("llama-2-70b").config(), WeightFormat.Q8_0);
        LpuOpCostProvider provider = new LpuOpCostProvider();
        int dim = graph.config().dim();
        Allocation from = new Allocation(0, "x", 0, 4L * dim, 0, Allocation.FOREVER);
        for (int[] stages : List.of(new int[] {0, 1}, new int[] {8, 9}, new int[] {3, 4})) {
            // Stages of 8 chips: stage 9 starts at chip 72, another rack.
            long hand = LpuLlama.hop(G, from, from, dim, G.hops(stages[0] * 8, stages[1] * 8)).cycles();
            assertEquals(hand, Math.round(provider.stageHopSeconds(group, graph, 1, stages[0], stages[1], 8).orElseThrow() * G.clockHz()));
        }
        assertEquals(G.hostRoundTripCycles(graph.config().vocabSize()),
                Math.round(provider.hostRoundTripSeconds(group, graph).orElseThrow() * G.clockHz()));
    }

    @Test
    void aWholeStepIsItsProgramsIncludingTheStageHopThenTheHostRoundTrip() {
        LlamaConfig c = BlockCostExactnessTest.ODD; // dim 96, one layer: its attention and FFN on two nodes of 8
        ModelShape shape = ModelShape.uniform(c, WeightFormat.Q8_0);
        StageLayout layout = new StageLayout(shape, G, 16, 32);
        List<LpuLlama.StepProgram> programs = LpuLlama.stepPrograms(layout, layout.placed(), 1, 3);
        long sum = 0, hops = 0;
        for (LpuLlama.StepProgram p : programs) {
            sum += p.program().cycles();
            if (p.stage() == LpuLlama.HOP) {
                hops++;
                // 96 fp32 values as 192 fp16 bytes over one link: ceil(192 / 16.67) = 12 cycles; 3 hops in a rack;
                // the receive's 6; the two nodes' alignment first.
                assertEquals(G.nodeSyncCycles() + 12 + 3 * 450 + 6, p.program().cycles());
            }
        }
        assertEquals(1, hops);
        assertEquals(sum + G.hostRoundTripCycles(c.vocabSize()), LpuLlama.timeStep(shape, G, 16, 32, 3).cycles());
    }

    @Test
    void aWirePrecisionOtherThanFp32Fp16OrInt8IsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> G.with("wireBytesPerElement", "3"));
        assertEquals("chip config groqchip1: wireBytesPerElement must be 1 (int8/fp8), 2 (fp16/bf16) or 4 (fp32), got 3", e.getMessage());
    }
}
