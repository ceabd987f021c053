package dev.tandem.device.lpu;

import dev.tandem.conformance.RandomWeights;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.device.AttentionWeights;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceAttention;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceFfn;
import dev.tandem.runtime.device.DeviceMemoryException;
import dev.tandem.runtime.device.Devices;
import dev.tandem.runtime.device.FfnWeights;
import dev.tandem.runtime.model.LlamaConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused block programs against the same blocks run as primitive ops on the CPU device: every
 * output row is one whole dot product on one chip and attention is replicated, so the results are
 * bit-identical at any tensor-parallel degree, with odd slice widths (q|k|v of 160 rows over 3
 * chips, hidden 160, dim 96), several rows and a KV cache already holding earlier positions.
 */
class FusedBlockTest {
    // dim 96 = 3 heads of 32; one KV head (GQA); hidden 160: Q8_0/Q4_0 rows are whole 32-blocks.
    static final LlamaConfig C = new LlamaConfig(96, 160, 1, 3, 1, 32, 64, 1e-5f, 10000f, null);
    static final int POSITIONS = 16;

    private final Random seeds = new Random();

    static AttentionWeights attention(Arena arena, WeightFormat f, Random r) {
        int dim = C.dim(), kvDim = C.kvDim();
        return new AttentionWeights(C, RandomWeights.create(arena, f, dim, dim, r), RandomWeights.create(arena, f, kvDim, dim, r),
                RandomWeights.create(arena, f, kvDim, dim, r), RandomWeights.create(arena, f, dim, dim, r),
                RandomWeights.floats(dim, r), C.ropeInvFreq());
    }

    static FfnWeights ffn(Arena arena, WeightFormat f, Random r) {
        return new FfnWeights(C, RandomWeights.create(arena, f, C.hiddenDim(), C.dim(), r),
                RandomWeights.create(arena, f, C.hiddenDim(), C.dim(), r), RandomWeights.create(arena, f, C.dim(), C.hiddenDim(), r),
                RandomWeights.floats(C.dim(), r));
    }

    private static DeviceBuffer upload(Device d, float[] v) {
        DeviceBuffer b = d.allocate(v.length);
        d.write(b, 0, v, 0, v.length);
        return b;
    }

    private static float[] download(Device d, DeviceBuffer b, int n) {
        float[] v = new float[n];
        d.read(b, 0, v, 0, n);
        return v;
    }

    @ParameterizedTest(name = "{0} tp {1} batch {2} at {3}")
    @CsvSource({"F32, 1, 1, 7", "F32, 2, 3, 5", "F32, 3, 1, 9", "F32, 3, 3, 4", "Q8_0, 2, 1, 11", "Q8_0, 3, 3, 6",
            "Q4_0, 3, 2, 3", "F16, 2, 3, 1"})
    void attentionBlockIsBitIdenticalToThePrimitives(WeightFormat format, int tp, int batch, int pos0) {
        long seed = seeds.nextLong();
        Random r = new Random(seed);
        int dim = C.dim(), kvDim = C.kvDim();
        try (Arena arena = Arena.ofShared(); Device cpu = Devices.open("cpu"); LpuDevice lpu = new LpuDevice(ChipConfig.LP30, tp, null)) {
            AttentionWeights w = attention(arena, format, r);
            float[] x = RandomWeights.floats(batch * dim, r);
            float[] earlierK = RandomWeights.floats(pos0 * kvDim, r), earlierV = RandomWeights.floats(pos0 * kvDim, r);
            float[][] results = new float[2][];
            float[][] keys = new float[2][(pos0 + batch) * kvDim], values = new float[2][(pos0 + batch) * kvDim];
            Device[] devices = {cpu, lpu};
            for (int i = 0; i < 2; i++) {
                Device d = devices[i];
                try (DeviceAttention block = d.uploadAttention(w, POSITIONS, 4); DeviceBuffer xb = upload(d, x)) {
                    block.writeKv(0, pos0, earlierK, earlierV);
                    block.run(xb, pos0, batch);
                    results[i] = download(d, xb, batch * dim);
                    block.readKv(0, pos0 + batch, keys[i], values[i]);
                }
            }
            String what = format + " tp " + tp + " (seed " + seed + ")";
            assertFalse(java.util.Arrays.equals(x, results[1]), "the block changed nothing: " + what);
            assertArrayEquals(results[0], results[1], 0f, "x after attention, " + what);
            assertArrayEquals(keys[0], keys[1], 0f, "keys, " + what);
            assertArrayEquals(values[0], values[1], 0f, "values, " + what);
        }
    }

    @ParameterizedTest(name = "{0} tp {1} batch {2}")
    @CsvSource({"F32, 1, 1", "F32, 2, 3", "F32, 3, 1", "F32, 3, 3", "Q8_0, 2, 3", "Q8_0, 3, 1", "Q4_0, 2, 2", "BF16, 3, 3"})
    void ffnBlockIsBitIdenticalToThePrimitives(WeightFormat format, int tp, int batch) {
        long seed = seeds.nextLong();
        Random r = new Random(seed);
        int dim = C.dim();
        try (Arena arena = Arena.ofShared(); Device cpu = Devices.open("cpu"); LpuDevice lpu = new LpuDevice(ChipConfig.GROQCHIP1, tp, null)) {
            FfnWeights w = ffn(arena, format, r);
            float[] x = RandomWeights.floats(batch * dim, r);
            float[][] results = new float[2][];
            Device[] devices = {cpu, lpu};
            for (int i = 0; i < 2; i++) {
                Device d = devices[i];
                try (DeviceFfn block = d.uploadFfn(w, 4); DeviceBuffer xb = upload(d, x)) {
                    block.run(xb, batch);
                    results[i] = download(d, xb, batch * dim);
                }
            }
            assertFalse(java.util.Arrays.equals(x, results[1]), "the block changed nothing");
            assertArrayEquals(results[0], results[1], 0f, "x after the FFN, " + format + " tp " + tp + " (seed " + seed + ")");
        }
    }

    @Test
    void kvCacheIsReplicatedOnEveryChipAndSurvivesARoundTrip() {
        Random r = new Random(seeds.nextLong());
        int kvDim = C.kvDim();
        try (Arena arena = Arena.ofShared(); LpuDevice lpu = new LpuDevice(ChipConfig.LP30, 3, null);
             DeviceAttention block = lpu.uploadAttention(attention(arena, WeightFormat.F32, r), POSITIONS, 2)) {
            float[] k = RandomWeights.floats(5 * kvDim, r), v = RandomWeights.floats(5 * kvDim, r);
            block.writeKv(3, 5, k, v);
            float[] k2 = new float[5 * kvDim], v2 = new float[5 * kvDim];
            block.readKv(3, 5, k2, v2);
            assertArrayEquals(k, k2, 0f);
            assertArrayEquals(v, v2, 0f);
            assertThrows(IllegalArgumentException.class, () -> block.readKv(POSITIONS - 1, 2, k2, v2));
        }
    }

    @Test
    void aBlockThatDoesNotFitIsTypedAndLeavesTheChipsAsTheyWere() {
        // Two KiB of SRAM per chip: the weights alone are 36 KiB.
        ChipConfig tiny = ChipConfig.LP30.with("sramBytes", "2048");
        Random r = new Random(seeds.nextLong());
        try (Arena arena = Arena.ofShared(); LpuDevice lpu = new LpuDevice(tiny, 2, null)) {
            DeviceBuffer before = lpu.allocate(256);
            before.close();
            DeviceMemoryException e = assertThrows(LpuCapacityException.class, () -> lpu.uploadFfn(ffn(arena, WeightFormat.F32, r), 1));
            assertTrue(e.requestedBytes() > 0, e.getMessage());
            // Everything placed before the failure was freed: the whole SRAM of chip 0 is free again.
            lpu.allocate(512).close();
        }
    }

    @Test
    void growingDeviceGivesABlockItsOwnChipWhenChipZeroIsFull() {
        // Chip 0 holds 160 KiB; the attention block with its cache takes about 110 KiB, so the second goes elsewhere.
        ChipConfig small = ChipConfig.LP30.with("sramBytes", String.valueOf(160 << 10));
        Random r = new Random(seeds.nextLong());
        try (Arena arena = Arena.ofShared(); LpuDevice lpu = new LpuDevice(small, 0, null); Device cpu = Devices.open("cpu")) {
            AttentionWeights w = attention(arena, WeightFormat.F32, r);
            DeviceAttention first = lpu.uploadAttention(w, POSITIONS, 2);
            DeviceAttention second = lpu.uploadAttention(w, POSITIONS, 2);
            assertTrue(lpu.chips() >= 2, "chips " + lpu.chips());
            float[] x = RandomWeights.floats(2 * C.dim(), r);
            try (DeviceBuffer xl = upload(lpu, x); DeviceBuffer xc = upload(cpu, x); DeviceAttention ref = cpu.uploadAttention(w, POSITIONS, 2)) {
                second.run(xl, 0, 2);
                ref.run(xc, 0, 2);
                assertArrayEquals(download(cpu, xc, x.length), download(lpu, xl, x.length), 0f);
            }
            first.close();
            second.close();
        }
    }

    @Test
    void eventsCountTheCyclesOfTheProgramsBetweenThem() {
        Random r = new Random(seeds.nextLong());
        try (Arena arena = Arena.ofShared(); LpuDevice lpu = new LpuDevice(ChipConfig.LP30, 2, null);
             DeviceFfn block = lpu.uploadFfn(ffn(arena, WeightFormat.Q8_0, r), 1);
             DeviceBuffer x = upload(lpu, RandomWeights.floats(C.dim(), r))) {
            var start = lpu.record();
            block.run(x, 1);
            var mid = lpu.record();
            block.run(x, 1);
            var end = lpu.record();
            long one = mid.cyclesSince(start).orElseThrow();
            assertTrue(one > 0);
            assertEquals(2 * one, end.cyclesSince(start).orElseThrow(), "the same program twice takes twice the cycles");
            assertEquals(0, end.cyclesSince(end).orElseThrow());
        }
    }
}
