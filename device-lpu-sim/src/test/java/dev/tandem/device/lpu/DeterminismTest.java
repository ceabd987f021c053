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

                // The same step's programs again, timing only, on fresh chips.
                ChipArray[] timingOnly = LpuLlama.arrays(pooled.layout(), false);
                try {
                    RunStats timing = LpuLlama.run(pooled.layout(), pooled.stepPrograms(token, pos), timingOnly, ChipArray.Mode.TIMING,
                            k -> { });
                    assertEquals(pooled.lastStep(), timing, "full vs timing-only at pos " + pos);
                    for (ChipArray array : timingOnly) {
                        for (int c = 0; c < array.chips(); c++) {
                            assertTrue(!array.sramAllocated(c), "timing-only allocated SRAM");
                        }
                    }
                } finally {
                    for (ChipArray array : timingOnly) {
                        array.close();
                    }
                }
                token = WholeStepLoweringTest.argmax(a);
            }
        }
    }
}
