package dev.tandem.device.lpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.conformance.RandomWeights;
import dev.tandem.conformance.SharedData;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.model.LlamaConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CapacityAndTraceTest {
    static final LlamaConfig LLAMA_70B = new LlamaConfig(8192, 28672, 80, 64, 8, 32000, 4096, 1e-5f, 10000f, null);

    @Test
    void modelThatDoesNotFitSaysHowManyChipsWould() {
        ModelShape shape = ModelShape.uniform(LLAMA_70B, WeightFormat.Q8_0);
        LpuCapacityException e = assertThrows(LpuCapacityException.class,
                () -> new StageLayout(shape, ChipConfig.GROQCHIP1, 64, 2048));
        int needed = e.chipsNeeded();
        assertTrue(e.getMessage().contains("needs " + needed + " chips"), e.getMessage());
        assertTrue(needed > 64 && needed * ChipConfig.GROQCHIP1.sramBytes() >= shape.weightBytes(), e.getMessage());
        assertTrue(StageLayout.fits(shape, ChipConfig.GROQCHIP1, needed, 2048));
        assertFalse(StageLayout.fits(shape, ChipConfig.GROQCHIP1, needed - 1, 2048));
    }

    @Test
    void deviceWithTooFewChipsRefusesWeightsWithTheChipCount() {
        ChipConfig tiny = ChipConfig.GROQCHIP1.with("sramBytes", "65536");
        try (LpuDevice d = new LpuDevice(tiny, 2, null); Arena arena = Arena.ofShared()) {
            var m = RandomWeights.create(arena, WeightFormat.F32, 256, 256, new Random(1)); // 256 KiB
            LpuCapacityException e = assertThrows(LpuCapacityException.class, () -> d.upload(m));
            assertTrue(e.chipsNeeded() >= 4, e.getMessage());
        }
    }

    @Test
    void seventyBOnGroqChip1TimingOnly() {
        // 82 nodes of 8: the device's block placement (64-row scratch per block) holds 2-3 blocks a node.
        RunStats r = LpuLlama.timeStep(ModelShape.uniform(LLAMA_70B, WeightFormat.Q8_0), ChipConfig.GROQCHIP1, 656, 512, 100);
        assertTrue(r.cycles() > 0 && r.instructions() > 0);
        assertEquals(656, r.chips());
    }

    @Test
    void traceHasATrackPerChipAndUnitAndFlowsForTransfers(@TempDir Path dir) throws Exception {
        int chips = 3;
        try (Model m = Model.load(SharedData.model("stories260K.bin"));
             LpuLlama lpu = new LpuLlama(m.config(), m.weights(), m.ropeInvFreq(), ChipConfig.GROQCHIP1, chips, 4)) {
            List<StaticProgram> programs = lpu.stepPrograms(1, 2).stream().map(LpuLlama.StepProgram::program).toList();
            Path file = dir.resolve("trace.json");
            ChromeTrace.write(programs, file);
            JsonNode root = new ObjectMapper().readTree(file.toFile());
            Set<String> tracks = new HashSet<>();
            Map<Integer, Integer> flowEnds = new HashMap<>();
            int slices = 0;
            for (JsonNode e : root.get("traceEvents")) {
                switch (e.get("ph").asText()) {
                    case "M" -> {
                        if (e.get("name").asText().equals("thread_name")) {
                            tracks.add(e.get("pid").asInt() + "/" + e.get("args").get("name").asText());
                        }
                    }
                    case "X" -> slices++;
                    case "s", "f" -> flowEnds.merge(e.get("id").asInt(), 1, Integer::sum);
                    default -> throw new AssertionError("unexpected event " + e);
                }
            }
            assertEquals(chips * Unit.values().length, tracks.size(), tracks.toString());
            assertEquals(programs.stream().mapToInt(p -> p.instructions().size()).sum(), slices);
            long sends = programs.stream().flatMap(p -> p.instructions().stream())
                    .filter(s -> s.instruction() instanceof Instruction.C2cSend).count();
            assertTrue(sends > 0);
            assertEquals(sends, flowEnds.size());
            assertTrue(flowEnds.values().stream().allMatch(v -> v == 2), "every flow has a start and an end");
        }
    }
}
