package dev.tandem.device.lpu;

import dev.tandem.conformance.SharedData;
import dev.tandem.runtime.Model;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Full and timing-only runs of one program take the same cycles; runs are repeatable, and the
 * host's thread count changes nothing (a run with matvecs on the thread pool against one with
 * every row on the calling thread). Outputs are compared bit for bit, with the Vector API (the
 * default execution) and with the scalar kernels (the "scalar-exact" execution).
 */
class DeterminismTest {
    @ParameterizedTest(name = "{0} on {1} chips")
    @CsvSource({"stories260K.bin, 1", "stories260K-q8_0.gguf, 3", "stories260K.bin, 10"})
    void fullAndTimingAgreeAndRunsRepeat(String file, int chips) {
        int positions = 6;
        try (Model m = Model.load(SharedData.model(file));
             LpuLlama pooled = new LpuLlama(m.config(), m.weights(), m.ropeInvFreq(), ChipConfig.GROQCHIP1, chips, positions, true);
             LpuLlama serial = new LpuLlama(m.config(), m.weights(), m.ropeInvFreq(), ChipConfig.GROQCHIP1, chips, positions, false)) {
            int token = 1;
            for (int pos = 0; pos < positions; pos++) {
                float[] a = pooled.forward(token, pos).clone();
                float[] b = serial.forward(token, pos).clone();
                // Bit for bit, vectors or not: the kernels sum lanes in a fixed order (Vec.sum) and
                // a matvec row's arithmetic does not depend on how rows are split over threads.
                assertArrayEquals(a, b, 0f, "pos " + pos);
                assertEquals(pooled.lastStep(), serial.lastStep(), "cycles of pos " + pos);

                StaticProgram p = LlamaLowering.decodeStep(pooled.layout(), token, pos);
                try (ChipArray timingOnly = new ChipArray(ChipConfig.GROQCHIP1, chips)) {
                    RunStats timing = timingOnly.run(p, ChipArray.Mode.TIMING);
                    assertEquals(pooled.lastStep(), timing, "full vs timing-only at pos " + pos);
                    for (int c = 0; c < chips; c++) {
                        assertTrue(!timingOnly.sramAllocated(c), "timing-only allocated SRAM");
                    }
                }
                token = WholeStepLoweringTest.argmax(a);
            }
        }
    }
}
