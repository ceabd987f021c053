package dev.tandem.runtime.format;

import dev.tandem.runtime.error.ModelFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** GgufWriter output read back by GgufFile: every metadata type and every encodable tensor type. */
class GgufRoundTripTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @TempDir
    Path dir;

    private final Random random = new Random();

    @Test
    void everyMetadataTypeRoundTrips() {
        int[] u8 = {0, 1, 255};
        String[] strings = {"", "héllo ✓", "<0x0A>"};
        GgufWriter.GgufArray nested = new GgufWriter.GgufArray(GgufValueType.ARRAY, new GgufWriter.GgufArray[] {
                new GgufWriter.GgufArray(GgufValueType.INT32, new int[] {1, -2}),
                new GgufWriter.GgufArray(GgufValueType.STRING, new String[] {"a", "bc"}),
                new GgufWriter.GgufArray(GgufValueType.ARRAY, new GgufWriter.GgufArray[] {
                        new GgufWriter.GgufArray(GgufValueType.FLOAT64, new double[] {Math.PI})})});
        Path file = dir.resolve("meta.gguf");
        new GgufWriter()
                .putUint8("u8", 200).putInt8("i8", -100).putUint16("u16", 65000).putInt16("i16", -30000)
                .putUint32("u32", 4_000_000_000L).putInt32("i32", -2_000_000_000)
                .putUint64("u64", -1L).putInt64("i64", Long.MIN_VALUE)
                .putFloat32("f32", 1.5e-5f).putFloat64("f64", -2.25e100).putBool("yes", true).putBool("no", false)
                .putString("s", "Ünïcode ✓")
                .putArray("a.u8", GgufValueType.UINT8, u8)
                .putArray("a.i8", GgufValueType.INT8, new int[] {-128, 127})
                .putArray("a.u16", GgufValueType.UINT16, new int[] {0, 65535})
                .putArray("a.i16", GgufValueType.INT16, new int[] {-32768, 32767})
                .putArray("a.u32", GgufValueType.UINT32, new long[] {0, 4294967295L})
                .putArray("a.i32", GgufValueType.INT32, new int[] {Integer.MIN_VALUE, Integer.MAX_VALUE})
                .putArray("a.u64", GgufValueType.UINT64, new long[] {-1L, 7})
                .putArray("a.i64", GgufValueType.INT64, new long[] {Long.MIN_VALUE, 3})
                .putArray("a.f32", GgufValueType.FLOAT32, new float[] {0.25f, -1f})
                .putArray("a.f64", GgufValueType.FLOAT64, new double[] {1e-300})
                .putArray("a.bool", GgufValueType.BOOL, new boolean[] {true, false, true})
                .putArray("a.str", GgufValueType.STRING, strings)
                .putArray("a.empty", GgufValueType.FLOAT32, new float[0])
                .put("a.nested", GgufValueType.ARRAY, nested)
                .write(file);

        try (GgufFile g = GgufFile.open(file)) {
            assertEquals(3, g.version());
            assertEquals(file, g.path());
            assertEquals(List.of("u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "f32", "f64", "yes", "no", "s",
                    "a.u8", "a.i8", "a.u16", "a.i16", "a.u32", "a.i32", "a.u64", "a.i64", "a.f32", "a.f64", "a.bool",
                    "a.str", "a.empty", "a.nested"), List.copyOf(g.metadata().keySet()), "file order is kept");
            assertEquals(200, g.get("u8").orElseThrow());
            assertEquals(-100, g.get("i8").orElseThrow());
            assertEquals(65000, g.get("u16").orElseThrow());
            assertEquals(-30000, g.get("i16").orElseThrow());
            assertEquals(4_000_000_000L, g.get("u32").orElseThrow());
            assertEquals(-2_000_000_000, g.get("i32").orElseThrow());
            assertEquals(-1L, g.get("u64").orElseThrow());
            assertEquals(Long.MIN_VALUE, g.get("i64").orElseThrow());
            assertEquals(1.5e-5f, g.get("f32").orElseThrow());
            assertEquals(-2.25e100, g.get("f64").orElseThrow());
            assertEquals(true, g.get("yes").orElseThrow());
            assertEquals(false, g.get("no").orElseThrow());
            assertEquals("Ünïcode ✓", g.requireString("s"));
            assertArrayEquals(u8, g.requireArray("a.u8", int[].class));
            assertArrayEquals(new int[] {-128, 127}, g.requireArray("a.i8", int[].class));
            assertArrayEquals(new int[] {0, 65535}, g.requireArray("a.u16", int[].class));
            assertArrayEquals(new int[] {-32768, 32767}, g.requireArray("a.i16", int[].class));
            assertArrayEquals(new long[] {0, 4294967295L}, g.requireArray("a.u32", long[].class));
            assertArrayEquals(new int[] {Integer.MIN_VALUE, Integer.MAX_VALUE}, g.requireArray("a.i32", int[].class));
            assertArrayEquals(new long[] {-1L, 7}, g.requireArray("a.u64", long[].class));
            assertArrayEquals(new long[] {Long.MIN_VALUE, 3}, g.requireArray("a.i64", long[].class));
            assertArrayEquals(new float[] {0.25f, -1f}, g.requireArray("a.f32", float[].class));
            assertArrayEquals(new double[] {1e-300}, g.requireArray("a.f64", double[].class));
            assertArrayEquals(new boolean[] {true, false, true}, g.requireArray("a.bool", boolean[].class));
            assertArrayEquals(strings, g.requireArray("a.str", String[].class));
            assertEquals(0, g.requireArray("a.empty", float[].class).length);
            Object[] outer = g.requireArray("a.nested", Object[].class);
            assertArrayEquals(new int[] {1, -2}, (int[]) outer[0]);
            assertArrayEquals(new String[] {"a", "bc"}, (String[]) outer[1]);
            assertArrayEquals(new double[] {Math.PI}, (double[]) ((Object[]) outer[2])[0]);
            assertEquals("ARRAY[ARRAY[INT32]]", g.typeOf("a.nested").orElseThrow());
            assertArrayEquals(new int[] {0, 65535}, g.requireIntArray("a.u16"));
            assertEquals(0, g.tensors().size());
        }
    }

    @Test
    void typedGettersConvertAndReportWrongTypes() {
        Path file = dir.resolve("typed.gguf");
        new GgufWriter().putUint8("small", 7).putUint32("u32", 4_000_000_000L).putFloat64("d", 0.5)
                .putString("s", "x").putUint64("huge", -1L).putArray("a.u32", GgufValueType.UINT32, new long[] {1, 4_000_000_000L})
                .write(file);
        try (GgufFile g = GgufFile.open(file)) {
            assertEquals(7, g.requireInt("small"));
            assertEquals(7L, g.requireLong("small"));
            assertEquals(4_000_000_000L, g.requireLong("u32"));
            assertEquals(0.5f, g.requireFloat("d"));
            assertEquals(3, g.getInt("absent", 3));
            assertEquals(2.5f, g.getFloat("absent", 2.5f));
            assertEquals("dflt", g.getString("absent", "dflt"));
            assertEquals(9L, g.getLong("absent", 9L));
            assertFalse(g.get("absent").isPresent());

            assertError(() -> g.requireInt("u32"), file, "'u32'", "does not fit a 32-bit int");
            assertError(() -> g.requireInt("s"), file, "'s'", "expected an integer but found STRING");
            assertError(() -> g.requireFloat("small"), file, "'small'", "found UINT8");
            assertError(() -> g.requireString("d"), file, "'d'", "found FLOAT64");
            assertError(() -> g.getInt("s", 1), file, "'s'", "STRING");
            assertError(() -> g.requireLong("huge"), file, "'huge'", "18446744073709551615");
            assertError(() -> g.requireString("nope"), file, "missing metadata key 'nope'");
            assertError(() -> g.requireArray("s", int[].class), file, "'s'", "int[]");
            assertError(() -> g.requireIntArray("a.u32"), file, "'a.u32'", "element 1");
            assertError(() -> g.tensor("w"), file, "missing tensor 'w'");
        }
    }

    private static void assertError(Runnable r, Path file, String... fragments) {
        ModelFormatException e = assertThrows(ModelFormatException.class, r::run);
        FormatAssertions.assertMentions(e, file, -1, fragments);
    }

    @Test
    void everyTensorTypeRoundTripsZeroCopy() throws Exception {
        float[] plain = randomFloats(3 * 64, 2f);
        float[] quant = randomFloats(4 * 64, 3f);
        quant[5] = 0; // a block with zeros and a block that is all zero exercise d = 0
        for (int i = 64; i < 96; i++) {
            quant[i] = 0;
        }
        Path file = dir.resolve("tensors.gguf");
        new GgufWriter().putString("general.architecture", "test").alignment(64)
                .addTensor("f32", GgmlType.F32, new long[] {64, 3}, plain)
                .addTensor("f16", GgmlType.F16, new long[] {64, 3}, plain)
                .addTensor("bf16", GgmlType.BF16, new long[] {64, 3}, plain)
                .addTensor("q8", GgmlType.Q8_0, new long[] {64, 4}, quant)
                .addTensor("q4", GgmlType.Q4_0, new long[] {64, 2, 2}, quant)
                .addRawTensor("k4", GgmlType.Q4_K, new long[] {256}, new byte[144])
                .write(file);

        try (GgufFile g = GgufFile.open(file)) {
            assertEquals(64, g.alignment());
            assertEquals(0, g.dataOffset() % 64);
            for (GgufTensor t : g.tensors()) {
                assertEquals(0, (t.offset() - g.dataOffset()) % 64, t.name() + " aligned");
                assertTrue(t.data().isMapped(), "zero copy: " + t.name());
                assertEquals(t.offset(), t.data().address() - g.mapping().address());
                assertEquals(t.byteSize(), t.data().byteSize());
                assertTrue(t.data().isReadOnly());
            }
            assertEquals(List.of("f32", "f16", "bf16", "q8", "q4", "k4"), g.tensors().stream().map(GgufTensor::name).toList());
            GgufTensor f32 = g.tensor("f32");
            assertArrayEquals(new long[] {64, 3}, f32.dims());
            assertEquals(3 * 64 * 4, f32.byteSize());
            assertArrayEquals(plain, f32.data().toArray(F32));
            float[] f16 = new float[plain.length];
            float[] bf16 = new float[plain.length];
            for (int i = 0; i < plain.length; i++) {
                f16[i] = Float.float16ToFloat(g.tensor("f16").data().getAtIndex(I16, i));
                bf16[i] = Float.intBitsToFloat(g.tensor("bf16").data().getAtIndex(I16, i) << 16);
                assertEquals(plain[i], f16[i], Math.abs(plain[i]) / 1024 + 1e-7f);
                assertEquals(plain[i], bf16[i], Math.abs(plain[i]) / 128);
            }
            assertEquals(GgmlType.Q8_0, g.tensor("q8").type());
            assertEquals(4 * 2 * 34, g.tensor("q8").byteSize());
            float[] q8 = dequantQ8_0(g.tensor("q8").data(), quant.length);
            float[] q4 = dequantQ4_0(g.tensor("q4").data(), quant.length);
            assertArrayEquals(new long[] {64, 2, 2}, g.tensor("q4").dims());
            assertEquals(4 * 2 * 18, g.tensor("q4").byteSize());
            for (int b = 0; b < quant.length / 32; b++) {
                float amax = 0;
                for (int j = 0; j < 32; j++) {
                    amax = Math.max(amax, Math.abs(quant[b * 32 + j]));
                }
                float d8 = Float.float16ToFloat(Float.floatToFloat16(amax / 127));
                assertEquals(d8, Float.float16ToFloat(g.tensor("q8").data().get(I16, b * 34L)), "Q8_0 scale of block " + b);
                for (int j = 0; j < 32; j++) {
                    int i = b * 32 + j;
                    assertEquals(quant[i], q8[i], d8 * 0.5f + amax * 1e-3f, "Q8_0 element " + i);
                    // one step: values near -max clamp to nibble 15, a full step off (ggml does the same)
                    assertEquals(quant[i], q4[i], amax / 8 + amax * 1e-2f, "Q4_0 element " + i);
                }
            }
            assertEquals(GgmlType.Q4_K, g.tensor("k4").type());
            assertEquals(144, g.tensor("k4").byteSize());
        }
        assertTrue(Files.size(file) > 0);
    }

    @Test
    void quantizersMatchGgmlOnExactValues() {
        // Values on the quantization grid come back exactly: Q8_0 with max 127, Q4_0 with max -8 (d = 1).
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) {
            x[j] = j % 2 == 0 ? j - 16 : 128 - j; // max |x| = 127 at j = 1, so d = 1
        }
        Path file = dir.resolve("exact.gguf");
        float[] y = new float[32];
        for (int j = 0; j < 32; j++) {
            y[j] = j == 3 ? -8 : (j % 15) - 7;
        }
        new GgufWriter().addTensor("q8", GgmlType.Q8_0, new long[] {32}, x).addTensor("q4", GgmlType.Q4_0, new long[] {32}, y).write(file);
        try (GgufFile g = GgufFile.open(file)) {
            assertArrayEquals(x, dequantQ8_0(g.tensor("q8").data(), 32));
            assertArrayEquals(y, dequantQ4_0(g.tensor("q4").data(), 32));
            // ggml's Q4_0 scale is the signed max over -8, so the largest-magnitude value maps to nibble 0.
            assertEquals(1f, Float.float16ToFloat(g.tensor("q4").data().get(I16, 0)));
            assertEquals(0, g.tensor("q4").data().get(ValueLayout.JAVA_BYTE, 2 + 3) & 0xF);
        }
    }

    @Test
    void writerRejectsMisuse() {
        GgufWriter w = new GgufWriter();
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("a", GgmlType.F32, new long[] {4}, new float[3]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("a", GgmlType.Q8_0, new long[] {16}, new float[16]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("a", GgmlType.Q4_K, new long[] {256}, new float[256]));
        assertThrows(IllegalArgumentException.class, () -> w.put("k", GgufValueType.UINT32, "text"));
        assertThrows(IllegalArgumentException.class, () -> w.alignment(48));
        assertThrows(IllegalArgumentException.class, () -> w.putUint8("k", 256));
        assertThrows(IllegalArgumentException.class, () -> w.putUint32("k", 1L << 32));
        assertThrows(IllegalArgumentException.class, () -> w.putArray("k", GgufValueType.INT16, new int[] {40000}));
    }

    @Test
    void streamingWriterWritesLargeTensorsRowByRow() throws Exception {
        Path file = dir.resolve("stream.gguf");
        int cols = 4096, rows = 300; // ~4.9 MB of F32: several 1 MB chunks
        new GgufWriter().addTensor("big", GgmlType.F32, new long[] {cols, rows}, (row, dst) -> {
            for (int j = 0; j < dst.length; j++) {
                dst[j] = row * 10_000f + j;
            }
        }).write(file);
        try (GgufFile g = GgufFile.open(file)) {
            MemorySegment data = g.tensor("big").data();
            assertEquals((long) cols * rows * 4, data.byteSize());
            assertEquals(299 * 10_000f + 4095, data.getAtIndex(F32, (long) cols * rows - 1));
            assertEquals(123 * 10_000f + 7, data.getAtIndex(F32, 123L * cols + 7));
        }
    }

    @Test
    void typesHaveGgmlIdsAndSizes() {
        assertEquals(GgmlType.F32, GgmlType.byIdOrNull(0));
        assertEquals(GgmlType.BF16, GgmlType.byIdOrNull(30));
        assertEquals(GgmlType.Q6_K, GgmlType.byIdOrNull(14));
        assertEquals(GgmlType.F64, GgmlType.byIdOrNull(28));
        assertEquals(null, GgmlType.byIdOrNull(123));
        assertEquals(34, GgmlType.Q8_0.blockBytes());
        assertEquals(210, GgmlType.Q6_K.blockBytes());
        assertEquals(dev.tandem.kernels.WeightFormat.Q4_K, GgmlType.Q4_K.weightFormat());
        assertEquals(null, GgmlType.IQ4_XS.weightFormat());
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> GgmlType.IQ4_XS.requireWeightFormat(Path.of("m.gguf"), "x"));
        assertTrue(e.getMessage().contains("tensor 'x' has type IQ4_XS, which Tandem does not support "
                        + "(supported: F32, F16, BF16, Q8_0, Q4_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)"), e.getMessage());
        assertInstanceOf(ModelFormatException.class, assertThrows(ModelFormatException.class,
                () -> GgmlType.byId(123, Path.of("m.gguf"), 5, "x")));
    }

    private float[] randomFloats(int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) random.nextGaussian() * scale;
        }
        return a;
    }

    /** Test-side Q8_0 decoder, written from the block layout (not from the writer). */
    static float[] dequantQ8_0(MemorySegment data, int n) {
        float[] out = new float[n];
        for (int b = 0; b < n / 32; b++) {
            float d = Float.float16ToFloat(data.get(I16, b * 34L));
            for (int j = 0; j < 32; j++) {
                out[b * 32 + j] = data.get(ValueLayout.JAVA_BYTE, b * 34L + 2 + j) * d;
            }
        }
        return out;
    }

    /** Test-side Q4_0 decoder: low nibbles are elements 0-15, high nibbles 16-31, value (nibble-8)*d. */
    static float[] dequantQ4_0(MemorySegment data, int n) {
        float[] out = new float[n];
        for (int b = 0; b < n / 32; b++) {
            float d = Float.float16ToFloat(data.get(I16, b * 18L));
            for (int j = 0; j < 16; j++) {
                int q = data.get(ValueLayout.JAVA_BYTE, b * 18L + 2 + j) & 0xFF;
                out[b * 32 + j] = ((q & 0xF) - 8) * d;
                out[b * 32 + 16 + j] = ((q >> 4) - 8) * d;
            }
        }
        return out;
    }
}
