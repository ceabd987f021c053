package dev.tandem.runtime.device.cpu;

import dev.tandem.conformance.RandomWeights;
import dev.tandem.kernels.Ops;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceFfn;
import dev.tandem.runtime.device.FfnWeights;
import dev.tandem.runtime.model.LlamaConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The CPU's FFN block (W1 and W3 in one pool pass) gives every row exactly the bits of the
 * reference forward pass's separate ops, matvec at one row and matmul at more, whatever the batch.
 */
class CpuBlocksBitExactTest {
    private static final LlamaConfig C = new LlamaConfig(96, 160, 1, 3, 1, 32, 64, 1e-5f, 10000f, null);

    @ParameterizedTest(name = "{0} batch {1}")
    @CsvSource({"Q8_0, 1", "Q8_0, 5", "Q4_0, 1", "Q4_0, 16", "F32, 3"})
    void ffnEqualsTheReferenceOpsBitForBit(WeightFormat format, int batch) {
        Random r = new Random(format.ordinal() * 31L + batch);
        int dim = C.dim(), hidden = C.hiddenDim();
        try (Arena arena = Arena.ofShared(); CpuDevice cpu = new CpuDevice()) {
            FfnWeights w = new FfnWeights(C, RandomWeights.create(arena, format, hidden, dim, r),
                    RandomWeights.create(arena, format, hidden, dim, r), RandomWeights.create(arena, format, dim, hidden, r),
                    RandomWeights.floats(dim, r));
            float[] x = RandomWeights.floats(batch * dim, r);
            float[] expected = x.clone();
            for (int b = 0; b < batch; b++) { // ReferenceForward's decode step, row by row
                float[] n = new float[dim], g = new float[hidden], u = new float[hidden], o = new float[dim];
                Ops.rmsnorm(n, 0, x, b * dim, w.norm(), dim, C.rmsEps());
                w.w1().matvec(n, 0, g, 0);
                w.w3().matvec(n, 0, u, 0);
                Ops.siluMul(g, 0, u, 0, hidden);
                w.w2().matvec(g, 0, o, 0);
                Ops.addInPlace(expected, b * dim, o, 0, dim);
            }
            try (DeviceFfn block = cpu.uploadFfn(w, 16); DeviceBuffer xb = cpu.allocate(16L * dim)) {
                cpu.write(xb, 0, x, 0, x.length);
                block.run(xb, batch);
                float[] got = new float[batch * dim];
                cpu.read(xb, 0, got, 0, got.length);
                assertArrayEquals(expected, got, format + " batch " + batch);
                assertThrows(IllegalArgumentException.class, () -> block.run(xb, 17));
            }
        }
    }
}
