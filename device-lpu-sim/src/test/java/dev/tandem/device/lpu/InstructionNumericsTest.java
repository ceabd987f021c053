package dev.tandem.device.lpu;

import dev.tandem.conformance.RandomWeights;
import dev.tandem.device.lpu.Instruction.Attention;
import dev.tandem.device.lpu.Instruction.BinaryOp;
import dev.tandem.device.lpu.Instruction.LoadWeights;
import dev.tandem.device.lpu.Instruction.Matvec;
import dev.tandem.device.lpu.Instruction.MemRead;
import dev.tandem.device.lpu.Instruction.MemReadRow;
import dev.tandem.device.lpu.Instruction.RmsNorm;
import dev.tandem.device.lpu.Instruction.Rope;
import dev.tandem.device.lpu.Instruction.SxmPermute;
import dev.tandem.device.lpu.Instruction.SxmReduce;
import dev.tandem.device.lpu.Instruction.SxmTranspose;
import dev.tandem.device.lpu.Instruction.UnaryOp;
import dev.tandem.device.lpu.Instruction.VxmBinary;
import dev.tandem.device.lpu.Instruction.VxmUnary;
import dev.tandem.kernels.ScalarOps;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each instruction's numerics against the kernels' scalar references, through a real program. */
class InstructionNumericsTest {
    private static final ChipConfig C = ChipConfig.GROQCHIP1;
    private final ChipArray chips = new ChipArray(C, 1);
    private final Random random = new Random(42);
    private final ListScheduler s = new ListScheduler(C, 1);

    @AfterEach
    void close() {
        chips.close();
    }

    /** Puts values in SRAM and emits a MemRead of them into stream. */
    private float[] load(float[] values, int stream) {
        long off = s.allocate(0, "in" + stream, 4L * values.length);
        chips.writeFloats(0, off, values, 0, values.length);
        s.emit(0, new MemRead(off, values.length, stream, 0));
        return values;
    }

    private float[] run(int stream, int length) {
        chips.run(s.build(), ChipArray.Mode.FULL);
        return chips.streamContents(0, stream, 0, length);
    }

    private static void close(float[] expected, float[] actual, double tol) {
        double num = 0, den = 0;
        for (int i = 0; i < expected.length; i++) {
            num += (actual[i] - expected[i]) * (double) (actual[i] - expected[i]);
            den += expected[i] * (double) expected[i];
        }
        assertTrue(Math.sqrt(num / Math.max(den, 1e-30)) <= tol, "relative L2 " + Math.sqrt(num / den));
    }

    /** The formats the emulated MXM multiplies (LpuDevice refuses the K-quants at upload). */
    static Set<WeightFormat> formats() {
        return LpuDevice.SUPPORTED_FORMATS;
    }

    @ParameterizedTest
    @MethodSource("formats")
    void matvecInTilesMatchesScalarDot(WeightFormat f) {
        int rows = 37, cols = 96, batch = 3;
        try (Arena arena = Arena.ofShared()) {
            WeightMatrix m = RandomWeights.create(arena, f, rows, cols, random);
            long w = s.allocate(0, "w", m.byteSize());
            chips.writeBytes(0, w, m.data());
            float[] x = load(RandomWeights.floats(batch * cols, random), 0);
            long rowBytes = f.bytesFor(cols);
            // Two tiles through the two weight buffers, written at their rows with stride rows.
            s.emit(0, new LoadWeights(w, f, 20, cols, 0));
            s.emit(0, new Matvec(f, 20, cols, 0, batch, 0, 0, 1, 0, rows));
            s.emit(0, new LoadWeights(w + 20 * rowBytes, f, 17, cols, 1));
            s.emit(0, new Matvec(f, 17, cols, 1, batch, 0, 0, 1, 20, rows));
            float[] out = run(1, batch * rows);
            float[] expected = new float[batch * rows];
            for (int b = 0; b < batch; b++) {
                for (int r = 0; r < rows; r++) {
                    expected[b * rows + r] = m.dotScalar(r, x, b * cols);
                }
            }
            close(expected, out, 1e-5);
        }
    }

    @Test
    void embeddingRowIsDequantizedExactly() {
        try (Arena arena = Arena.ofShared()) {
            WeightMatrix m = RandomWeights.create(arena, WeightFormat.Q8_0, 9, 64, random);
            long w = s.allocate(0, "table", m.byteSize());
            chips.writeBytes(0, w, m.data());
            s.emit(0, new MemReadRow(w, WeightFormat.Q8_0, 9, 64, 7, 2, 0));
            float[] expected = new float[64];
            m.dequantizeRow(7, expected, 0);
            assertArrayEquals(expected, run(2, 64), 0f);
        }
    }

    @Test
    void rmsnormRopeAndAttention() {
        int n = 64, heads = 4, kvHeads = 2, headDim = 16, positions = 5;
        float[] x = load(RandomWeights.floats(n, random), 0);
        float[] w = load(RandomWeights.floats(n, random), 1);
        s.emit(0, new RmsNorm(0, 0, 1, 2, 0, n, 1, 1e-5f));
        float[] expectedNorm = new float[n];
        ScalarOps.rmsnorm(expectedNorm, 0, x, 0, w, n, 1e-5f);

        float[] freq = new float[headDim / 2];
        for (int i = 0; i < freq.length; i++) {
            freq[i] = (float) Math.pow(10000, -2.0 * i / headDim);
        }
        load(freq, 3);
        float[] q = load(RandomWeights.floats(heads * headDim, random), 4);
        s.emit(0, new Rope(4, 0, heads * headDim, heads, headDim, positions - 1, 1, 3));
        float[] expectedQ = q.clone();
        ScalarOps.rope(expectedQ, 0, heads, headDim, positions - 1, freq);

        float[] k = load(RandomWeights.floats(positions * kvHeads * headDim, random), 5);
        float[] v = load(RandomWeights.floats(positions * kvHeads * headDim, random), 6);
        s.emit(0, new Attention(4, 5, 6, 7, positions - 1, 1, heads, kvHeads, headDim));
        float[] expectedAtt = new float[heads * headDim];
        ScalarOps.attention(expectedAtt, 0, expectedQ, 0, k, v, 0, positions, heads, kvHeads, headDim);

        chips.run(s.build(), ChipArray.Mode.FULL);
        close(expectedNorm, chips.streamContents(0, 2, 0, n), 1e-6);
        close(expectedQ, chips.streamContents(0, 4, 0, q.length), 1e-6);
        close(expectedAtt, chips.streamContents(0, 7, 0, expectedAtt.length), 1e-5);
    }

    @Test
    void elementwiseOps() {
        int n = 1031;
        float[] a = load(RandomWeights.floats(n, random), 0), b = load(RandomWeights.floats(n, random), 1);
        float[] c = load(RandomWeights.floats(n, random), 2);
        s.emit(0, new VxmBinary(BinaryOp.SILU_MUL, 0, 0, 1, 0, n));
        s.emit(0, new VxmBinary(BinaryOp.ADD, 2, 0, 1, 0, n));
        s.emit(0, new VxmBinary(BinaryOp.MUL, 1, 0, 1, 0, n));
        float[] ea = a.clone(), ec = c.clone(), eb = b.clone();
        ScalarOps.siluMul(ea, 0, b, 0, n);
        ScalarOps.addInPlace(ec, 0, b, 0, n);
        for (int i = 0; i < n; i++) {
            eb[i] = b[i] * b[i];
        }
        chips.run(s.build(), ChipArray.Mode.FULL);
        close(ea, chips.streamContents(0, 0, 0, n), 1e-6);
        close(ec, chips.streamContents(0, 2, 0, n), 1e-7);
        assertArrayEquals(eb, chips.streamContents(0, 1, 0, n), 0f);
    }

    @ParameterizedTest
    @EnumSource(UnaryOp.class)
    void unaryOps(UnaryOp op) {
        int n = 257;
        float[] x = RandomWeights.floats(n, random);
        for (int i = 0; i < n; i++) {
            x[i] = op == UnaryOp.RSQRT ? Math.abs(x[i]) + 0.01f : x[i];
        }
        load(x, 0);
        s.emit(0, new VxmUnary(op, 0, 0, n, 0.37f));
        float[] out = run(0, n);
        for (int i = 0; i < n; i++) {
            double e = switch (op) {
                case SCALE -> x[i] * 0.37f;
                case RSQRT -> 1 / Math.sqrt(x[i]);
                case EXP -> Math.exp(x[i]);
                case SILU -> x[i] / (1 + Math.exp(-x[i]));
                case SIGMOID -> 1 / (1 + Math.exp(-x[i]));
                case CONVERT_F16 -> Float.float16ToFloat(Float.floatToFloat16(x[i]));
                case CONVERT_BF16 -> Float.intBitsToFloat(Float.floatToIntBits(x[i]) & 0xFFFF0000);
            };
            double tol = op == UnaryOp.CONVERT_BF16 ? Math.abs(x[i]) / 128 : Math.abs(e) * 1e-6;
            assertEquals(e, out[i], tol, op + " of " + x[i]);
        }
    }

    @Test
    void reducePermuteTranspose() {
        int n = 50, parts = 3;
        float[] src = load(RandomWeights.floats(parts * n, random), 0);
        s.emit(0, new SxmReduce(0, 0, parts, n, 1, 0));
        s.emit(0, new SxmPermute(0, 0, n, 2, 5, 2 * n, parts, 10));
        s.emit(0, new SxmTranspose(0, 0, parts, n, 3, 0));
        chips.run(s.build(), ChipArray.Mode.FULL);
        float[] sum = new float[n];
        for (int i = 0; i < n; i++) {
            sum[i] = src[i] + src[n + i] + src[2 * n + i];
        }
        assertArrayEquals(sum, chips.streamContents(0, 1, 0, n), 0f);
        for (int r = 0; r < parts; r++) {
            for (int j = 0; j < 10; j++) {
                assertEquals(src[r * n + j], chips.streamContents(0, 2, 5 + r * 2 * n + j, 1)[0]);
            }
        }
        float[] t = chips.streamContents(0, 3, 0, parts * n);
        for (int r = 0; r < parts; r++) {
            for (int c = 0; c < n; c++) {
                assertEquals(src[r * n + c], t[c * parts + r]);
            }
        }
    }
}
