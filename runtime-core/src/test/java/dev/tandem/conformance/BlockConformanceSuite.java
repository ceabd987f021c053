package dev.tandem.conformance;

import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.AttentionWeights;
import dev.tandem.runtime.device.BatchRows;
import dev.tandem.runtime.device.DeviceAttention;
import dev.tandem.runtime.device.DevicePagedAttention;
import dev.tandem.runtime.device.KvPoolSpec;
import dev.tandem.runtime.device.DeviceFfn;
import dev.tandem.runtime.device.FfnWeights;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.kernels.ScalarOps;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused blocks of the {@link Device} contract (attention, paged attention over a block pool, FFN,
 * the KV cache) against host references built from the kernels' scalar ops.
 */
public abstract class BlockConformanceSuite extends DeviceConformanceBase {
    // ---- blocks: dim 96 (3 heads of 32, one KV head), hidden 160, so slices over 2 or 3 chips are odd ----

    private static final LlamaConfig BLOCK = new LlamaConfig(96, 160, 1, 3, 1, 32, 64, 1e-5f, 10000f, null);

    /**
     * Random Llama attention weights with wq and wk scaled down by sqrt(dim), so that attention scores are
     * of order one, as in trained models. At full scale they reach the hundreds and softmax becomes a
     * near-argmax: one 8-bit level move of a normalised input (see {@link #blockTolerance}) shifts a score
     * by about one, and when two scores nearly tie that moves the output by several per cent, which says
     * nothing about the device (seed -8078685793163493189 showed 1.2e-2 on the LPU, whose reference
     * rmsnorm then differed from its own by an ulp).
     */
    private static AttentionWeights llamaAttention(Arena arena, LlamaConfig c, WeightFormat format, Random r) {
        int dim = c.dim(), kvDim = c.kvDim();
        float qkGain = (float) (1 / Math.sqrt(dim));
        return new AttentionWeights(c, RandomWeights.create(arena, format, dim, dim, r, qkGain),
                RandomWeights.create(arena, format, kvDim, dim, r, qkGain), RandomWeights.create(arena, format, kvDim, dim, r),
                RandomWeights.create(arena, format, dim, dim, r), RandomWeights.floats(dim, r), c.ropeInvFreq());
    }

    private float[] matmulScalar(WeightMatrix m, float[] x, int batch) {
        float[] y = new float[batch * m.rows()];
        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < m.rows(); r++) {
                y[b * m.rows() + r] = referenceDot(m, r, x, b * m.cols());
            }
        }
        return y;
    }

    @ParameterizedTest(name = "{0} batch {1} at {2}")
    @CsvSource({"F32, 1, 9", "F32, 3, 5", "Q8_0, 3, 2", "F16, 2, 7"})
    void attentionBlockMatchesTheScalarReference(WeightFormat format, int batch, int pos0) {
        Random r = fresh();
        LlamaConfig c = BLOCK;
        int dim = c.dim(), kvDim = c.kvDim(), hd = c.headDim(), positions = 16;
        try (Arena arena = Arena.ofShared()) {
            AttentionWeights w = llamaAttention(arena, c, format, r);
            float[] x = RandomWeights.floats(batch * dim, r);
            float[] keys = new float[positions * kvDim], values = new float[positions * kvDim];
            System.arraycopy(RandomWeights.floats(pos0 * kvDim, r), 0, keys, 0, pos0 * kvDim);
            System.arraycopy(RandomWeights.floats(pos0 * kvDim, r), 0, values, 0, pos0 * kvDim);
            float[] earlierK = Arrays.copyOf(keys, pos0 * kvDim), earlierV = Arrays.copyOf(values, pos0 * kvDim);
            // The reference: rmsnorm, q/k/v, rope at pos0 + b, cache rows, causal attention, Wo, residual.
            float[] n = new float[batch * dim];
            for (int b = 0; b < batch; b++) {
                referenceRmsnorm(n, b * dim, x, b * dim, w.norm(), dim, c.rmsEps());
            }
            float[] q = matmulScalar(w.wq(), n, batch), k = matmulScalar(w.wk(), n, batch), v = matmulScalar(w.wv(), n, batch);
            float[] att = new float[batch * dim];
            for (int b = 0; b < batch; b++) {
                ScalarOps.rope(q, b * dim, c.nHeads(), hd, pos0 + b, w.ropeInvFreq());
                ScalarOps.rope(k, b * kvDim, c.nKvHeads(), hd, pos0 + b, w.ropeInvFreq());
                System.arraycopy(k, b * kvDim, keys, (pos0 + b) * kvDim, kvDim);
                System.arraycopy(v, b * kvDim, values, (pos0 + b) * kvDim, kvDim);
            }
            for (int b = 0; b < batch; b++) {
                ScalarOps.attention(att, b * dim, q, b * dim, keys, values, 0, pos0 + b + 1, c.nHeads(), c.nKvHeads(), hd);
            }
            float[] expected = x.clone();
            ScalarOps.addInPlace(expected, 0, matmulScalar(w.wo(), att, batch), 0, batch * dim);
            try (DeviceAttention block = device.uploadAttention(w, positions, 4); DeviceBuffer xb = upload(x)) {
                block.writeKv(0, pos0, earlierK, earlierV);
                block.run(xb, pos0, batch);
                assertClose(expected, download(xb, batch * dim), format + " attention block", blockTolerance(format));
                float[] gotK = new float[(pos0 + batch) * kvDim], gotV = new float[(pos0 + batch) * kvDim];
                block.readKv(0, pos0 + batch, gotK, gotV);
                assertArrayEquals(earlierK, Arrays.copyOf(gotK, pos0 * kvDim), 0f, "cached keys written before the block");
                assertClose(Arrays.copyOf(keys, (pos0 + batch) * kvDim), gotK, "keys after the block");
                assertClose(Arrays.copyOf(values, (pos0 + batch) * kvDim), gotV, "values after the block");
            }
        }
    }

    /**
     * Three sequences over a pool of shuffled blocks, three steps mixing prefill chunks and decode
     * rows; sequence B's second chunk starts mid-block, and the lengths are ragged.
     */
    @ParameterizedTest(name = "{0} blocks of {1}")
    @CsvSource({"F32, 3", "F32, 1", "Q8_0, 5", "F16, 7", "Q4_0, 16"})
    void pagedAttentionMatchesTheScalarReference(WeightFormat format, int blockSize) {
        Random r = fresh();
        LlamaConfig c = BLOCK;
        int dim = c.dim(), blocks = 3 * (16 / blockSize + 1) + 2;
        List<Integer> free = new java.util.ArrayList<>(java.util.stream.IntStream.range(0, blocks).boxed().toList());
        java.util.Collections.shuffle(free, r);
        int[][] tables = new int[3][16 / blockSize + 1];
        for (int[] table : tables) {
            for (int i = 0; i < table.length; i++) {
                table[i] = free.removeLast();
            }
        }
        // (sequence, first position, rows) per run of each step
        int[][][] steps = {
                {{0, 0, 5}, {1, 0, 2}},
                {{1, 2, 5}, {0, 5, 1}, {2, 0, 3}},
                {{2, 3, 1}, {0, 6, 1}, {1, 7, 4}},
        };
        try (Arena arena = Arena.ofShared()) {
            AttentionWeights w = llamaAttention(arena, c, format, r);
            PagedAttentionReference reference = new PagedAttentionReference(w, this::referenceDot, this::referenceRmsnorm, 3, 16);
            KvPoolSpec pool = new KvPoolSpec(blockSize, blocks);
            try (DevicePagedAttention block = device.uploadPagedAttention(w, pool, 12); DeviceBuffer xb = device.allocate(12L * dim)) {
                assertEquals(pool, block.pool());
                runSteps(block, xb, reference, steps, tables, dim, r, format, "paged attention");
                // Sequence B (11 positions, two runs) read out of its blocks, then written into C's and read back.
                int kvDim = c.kvDim();
                float[] k = new float[11 * kvDim], v = new float[11 * kvDim];
                block.readKv(tables[1], 0, 11, k, v);
                assertClose(reference.keys(1, 11), k, format + " keys read from the pool");
                assertClose(reference.values(1, 11), v, format + " values read from the pool");
                block.writeKv(tables[2], 1, 11, k, v);
                float[] k2 = new float[11 * kvDim], v2 = new float[11 * kvDim];
                block.readKv(tables[2], 1, 11, k2, v2);
                assertArrayEquals(k, k2, 0f, "keys written mid-block read back");
                assertArrayEquals(v, v2, 0f, "values written mid-block read back");
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> block.run(xb, BatchRows.sequence(tables[0], 16 / blockSize * blockSize + blockSize, 1)));
                assertTrue(e.getMessage().contains("block table"), e.getMessage());
            }
        }
    }

    /**
     * Qwen-style attention over the pool: QKV biases and QK-norm on heads of their own width (24, not
     * dim / heads = 16), three sequences in ragged runs; or, where the device's fused attention
     * computes only the Llama block, a typed refusal instead of a wrong answer.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"F32", "Q8_0"})
    void pagedAttentionRunsArchitectureOptions(WeightFormat format) {
        Random r = fresh();
        int dim = 64, heads = 4, kvHeads = 2, hd = 24;
        LlamaConfig c = new LlamaConfig(dim, 96, 1, heads, kvHeads, 32, 64, 1e-5f, 1e6f, null, hd,
                new dev.tandem.runtime.model.ArchOptions("qwen3", true, true, true, null));
        int qDim = heads * hd, kvDim = c.kvDim(), blockSize = 4, blocks = 12;
        int[][] tables = {{7, 2, 9}, {0, 11, 4}, {5, 1, 10}};
        int[][][] steps = {
                {{0, 0, 5}, {1, 0, 3}},
                {{1, 3, 4}, {0, 5, 1}, {2, 0, 2}},
                {{2, 2, 1}, {0, 6, 1}, {1, 7, 1}},
        };
        try (Arena arena = Arena.ofShared()) {
            AttentionWeights w = new AttentionWeights(c, RandomWeights.create(arena, format, qDim, dim, r),
                    RandomWeights.create(arena, format, kvDim, dim, r), RandomWeights.create(arena, format, kvDim, dim, r),
                    RandomWeights.create(arena, format, dim, qDim, r), RandomWeights.floats(dim, r), c.ropeInvFreq(),
                    RandomWeights.floats(qDim, r), RandomWeights.floats(kvDim, r), RandomWeights.floats(kvDim, r),
                    RandomWeights.floats(hd, r), RandomWeights.floats(hd, r));
            KvPoolSpec pool = new KvPoolSpec(blockSize, blocks);
            if (!runsAttentionOptions()) {
                assertThrows(dev.tandem.runtime.device.UnsupportedBlockException.class, () -> device.uploadPagedAttention(w, pool, 8).close());
                return;
            }
            PagedAttentionReference reference = new PagedAttentionReference(w, this::referenceDot, this::referenceRmsnorm, 3, 12);
            try (DevicePagedAttention block = device.uploadPagedAttention(w, pool, 8); DeviceBuffer xb = device.allocate(8L * dim)) {
                runSteps(block, xb, reference, steps, tables, dim, r, format, "Qwen-style paged attention");
                float[] k = new float[8 * kvDim], v = new float[8 * kvDim];
                block.readKv(tables[1], 0, 8, k, v);
                assertClose(reference.keys(1, 8), k, format + " normalised, biased keys in the pool");
                assertClose(reference.values(1, 8), v, format + " biased values in the pool");
            }
        }
    }

    @ParameterizedTest(name = "{0} batch {1}")
    @CsvSource({"F32, 1", "F32, 3", "Q8_0, 3", "Q4_0, 2"})
    void ffnBlockMatchesTheScalarReference(WeightFormat format, int batch) {
        Random r = fresh();
        LlamaConfig c = BLOCK;
        int dim = c.dim(), hidden = c.hiddenDim();
        try (Arena arena = Arena.ofShared()) {
            FfnWeights w = new FfnWeights(c, RandomWeights.create(arena, format, hidden, dim, r),
                    RandomWeights.create(arena, format, hidden, dim, r), RandomWeights.create(arena, format, dim, hidden, r),
                    RandomWeights.floats(dim, r));
            float[] x = RandomWeights.floats(batch * dim, r);
            float[] n = new float[batch * dim];
            for (int b = 0; b < batch; b++) {
                ScalarOps.rmsnorm(n, b * dim, x, b * dim, w.norm(), dim, c.rmsEps());
            }
            float[] g = matmulScalar(w.w1(), n, batch), u = matmulScalar(w.w3(), n, batch);
            ScalarOps.siluMul(g, 0, u, 0, batch * hidden);
            float[] expected = x.clone();
            ScalarOps.addInPlace(expected, 0, matmulScalar(w.w2(), g, batch), 0, batch * dim);
            try (DeviceFfn block = device.uploadFfn(w, 4); DeviceBuffer xb = upload(x)) {
                block.run(xb, batch);
                assertClose(expected, download(xb, batch * dim), format + " FFN block", blockTolerance(format));
            }
        }
    }

    @Test
    void kvCacheRoundTripsThroughTheBlock() {
        Random r = fresh();
        LlamaConfig c = BLOCK;
        int kvDim = c.kvDim();
        try (Arena arena = Arena.ofShared()) {
            AttentionWeights w = new AttentionWeights(c, RandomWeights.create(arena, WeightFormat.F32, c.dim(), c.dim(), r),
                    RandomWeights.create(arena, WeightFormat.F32, kvDim, c.dim(), r),
                    RandomWeights.create(arena, WeightFormat.F32, kvDim, c.dim(), r),
                    RandomWeights.create(arena, WeightFormat.F32, c.dim(), c.dim(), r), RandomWeights.floats(c.dim(), r), c.ropeInvFreq());
            try (DeviceAttention block = device.uploadAttention(w, 11, 1)) {
                assertEquals(11, block.maxPositions());
                float[] k = RandomWeights.floats(4 * kvDim, r), v = RandomWeights.floats(4 * kvDim, r);
                block.writeKv(7, 4, k, v);
                float[] k2 = new float[4 * kvDim], v2 = new float[4 * kvDim];
                block.readKv(7, 4, k2, v2);
                assertArrayEquals(k, k2, 0f, "keys");
                assertArrayEquals(v, v2, 0f, "values");
            }
        }
    }

    /**
     * Runs each step (runs of (sequence, first position, rows)) through the block on fresh random rows and
     * checks it against the reference's step.
     */
    private void runSteps(DevicePagedAttention block, DeviceBuffer xb, PagedAttentionReference reference, int[][][] steps,
                          int[][] tables, int dim, Random r, WeightFormat format, String what) {
        for (int[][] step : steps) {
            int rows = Arrays.stream(step).mapToInt(run -> run[2]).sum();
            int[] seq = new int[rows], pos = new int[rows];
            int[][] rowTables = new int[rows][];
            int i = 0;
            for (int[] run : step) {
                for (int j = 0; j < run[2]; j++, i++) {
                    seq[i] = run[0];
                    pos[i] = run[1] + j;
                    rowTables[i] = tables[run[0]];
                }
            }
            float[] x = RandomWeights.floats(rows * dim, r);
            float[] expected = reference.step(x, seq, pos);
            device.write(xb, 0, x, 0, x.length);
            block.run(xb, new BatchRows(pos, rowTables));
            assertClose(expected, download(xb, rows * dim), format + " " + what + ", rows " + Arrays.toString(pos), blockTolerance(format));
        }
    }
}
