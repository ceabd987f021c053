package dev.tandem.runtime.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.Devices;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.LlamaWeights;
import dev.tandem.runtime.model.SyntheticModel;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The device benchmark on the cpu at tiny sizes: the figures are consistent with each other (no timed assertion). */
class DeviceBenchTest {
    private static final DeviceBench.Settings TINY = new DeviceBench.Settings(1 << 20, 1 << 18, 256,
            List.of(WeightFormat.F16, WeightFormat.Q8_0, WeightFormat.Q4_0), 8,
            List.of(new DeviceBench.ModelCase("synthetic", WeightFormat.F16)), 4, 1, 3);

    @Test
    void tinyRunOnTheCpuGivesConsistentFigures() throws Exception {
        List<String> steps = new ArrayList<>();
        DeviceBenchReport r;
        try (Device cpu = Devices.open("cpu")) {
            r = new DeviceBench(cpu, TINY, steps::add).run();
        }
        assertTrue(r.errors().isEmpty(), r.errors().toString());
        assertEquals(1 << 20, r.copy().bytes());
        assertEquals(2 * r.copy().oneWayGBps(), r.copy().readWriteGBps(), 1e-9 * r.copy().readWriteGBps());
        assertEquals(3, r.matvecs().size());
        assertEquals(3, r.batched().size());
        for (DeviceBench.Matmul m : r.matvecs()) {
            assertEquals(1, m.batch());
            assertTrue(m.weightBytes() >= 1 << 18, m + " holds fewer bytes than asked");
            assertEquals(m.format().bytesFor((long) m.rows() * m.cols()), m.weightBytes());
            assertEquals(m.weightBytes() / m.timing().eventSeconds() / 1e9, m.weightGBps(), 1e-9 * m.weightGBps());
            assertEquals(m.weightGBps() / r.copy().readWriteGBps(), r.fractionOfCopy(m.weightGBps()), 1e-12);
        }
        for (DeviceBench.Matmul m : r.batched()) {
            assertEquals(8, m.batch());
            assertEquals(2.0 * m.rows() * m.cols() * 8 / m.timing().eventSeconds() / 1e12, m.tflops(), 1e-9 * m.tflops());
        }
        DeviceBench.ModelRun m = r.models().getFirst();
        LlamaConfig c = SyntheticModel.CONFIG;
        assertEquals(8 + 1 + 2, m.decodePosition(), "median of 4 decode steps after a prefill of 8 and 1 warm-up");
        assertEquals(m.weightBytes() + 2L * c.nLayers() * c.kvDim() * 4 * (m.decodePosition() + 1), m.decodeBytesPerToken());
        assertEquals(m.decodeBytesPerToken() / (r.copy().readWriteGBps() * 1e9), r.floorSeconds(m), 1e-15);
        assertTrue(m.decode().wallSeconds() > 0 && m.prefill().wallSeconds() > 0);
        assertTrue(steps.stream().anyMatch(s -> s.startsWith("model synthetic:F16")), steps.toString());

        JsonNode json = new ObjectMapper().readTree(r.json());
        assertEquals(r.copy().readWriteGBps(), json.path("copy").path("copy_gbps").asDouble(), 1e-9);
        assertEquals(3, json.path("matvec").size());
        assertEquals(r.fractionOfCopy(r.matvecs().get(1).weightGBps()),
                json.path("matvec").get(1).path("fraction_of_copy").asDouble(), 1e-12);
        assertEquals("F16", json.path("models").get(0).path("format").asText());
        assertEquals(m.decode().wallSeconds() / r.floorSeconds(m), json.path("models").get(0).path("decode_over_floor").asDouble(), 1e-9);
        assertFalse(json.path("graph_replay").path("measured").asBoolean());
        assertTrue(r.table().contains("of copy"));
    }

    @Test
    void syntheticMatricesHaveTheAskedBytesAndFiniteValues() {
        try (Arena arena = Arena.ofConfined()) {
            for (WeightFormat f : List.of(WeightFormat.F32, WeightFormat.F16, WeightFormat.BF16, WeightFormat.Q8_0, WeightFormat.Q4_0)) {
                int rows = SyntheticWeights.rowsFor(f, 64, 100_000);
                assertTrue(f.bytesFor(rows * 64L) >= 100_000 && f.bytesFor((rows - 1) * 64L) < 100_000, f.toString());
                WeightMatrix w = SyntheticWeights.matrix(arena, f, rows, 64, 1);
                float[] row = new float[64];
                for (int r = 0; r < rows; r += 97) {
                    w.dequantizeRow(r, row, 0);
                    for (float v : row) {
                        assertTrue(Float.isFinite(v) && Math.abs(v) <= 1, f + " row " + r + " value " + v);
                    }
                }
            }
            LlamaWeights tied = SyntheticWeights.llama(arena, SyntheticModel.CONFIG, WeightFormat.F16, true, 1);
            assertSame(tied.tokenEmbedding(), tied.output());
        }
    }

    @Test
    void modelCasesParseAndRefuseBadText() {
        assertEquals(new DeviceBench.ModelCase("llama-3-8b", WeightFormat.Q8_0), DeviceBench.ModelCase.parse("llama-3-8b:q8_0"));
        assertThrows(IllegalArgumentException.class, () -> DeviceBench.ModelCase.parse("llama-3-8b"));
        assertThrows(IllegalArgumentException.class, () -> DeviceBench.ModelCase.parse("llama-3-8b:Q9"));
        assertEquals(5, DeviceBench.median(new double[] {9, 1, 5}));
        assertEquals(4, DeviceBench.median(new double[] {9, 1, 3, 5}));
    }
}
