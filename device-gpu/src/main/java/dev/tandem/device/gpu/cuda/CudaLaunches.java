package dev.tandem.device.gpu.cuda;

import dev.tandem.kernels.WeightFormat;
import jcuda.driver.CUdeviceptr;

import java.util.Map;

/**
 * Each op's kernel, grid and arguments, as written above each kernel in tandem.cu; arguments are
 * validated by the caller. The launches go to a {@link Launcher}: the device's {@link CudaKernels},
 * or in CudaLaunchTableTest a recorder that checks every launch against the PTX without a GPU.
 */
final class CudaLaunches {
    /** Where a launch goes: grid (gridX, gridY), kernel.threads threads per block, args in the kernel's order. */
    @FunctionalInterface
    interface Launcher {
        void launch(CudaKernel kernel, int gridX, int gridY, Object... args);
    }

    private static final Map<WeightFormat, CudaKernel> MATMUL = Map.of(
            WeightFormat.F32, CudaKernel.MATMUL_F32, WeightFormat.F16, CudaKernel.MATMUL_F16,
            WeightFormat.BF16, CudaKernel.MATMUL_BF16, WeightFormat.Q8_0, CudaKernel.MATMUL_Q8_0,
            WeightFormat.Q4_0, CudaKernel.MATMUL_Q4_0);
    private static final Map<WeightFormat, CudaKernel> MATMUL_INT = Map.of(
            WeightFormat.Q8_0, CudaKernel.MATMUL_Q8_0_I8, WeightFormat.Q4_0, CudaKernel.MATMUL_Q4_0_I8);
    private static final Map<WeightFormat, CudaKernel> EMBED = Map.of(
            WeightFormat.F32, CudaKernel.EMBED_F32, WeightFormat.F16, CudaKernel.EMBED_F16,
            WeightFormat.BF16, CudaKernel.EMBED_BF16, WeightFormat.Q8_0, CudaKernel.EMBED_Q8_0,
            WeightFormat.Q4_0, CudaKernel.EMBED_Q4_0);

    private final Launcher launcher;
    /** The host's float lanes (its reductions' shape), which rmsnorm and attention follow for its bits. */
    private final int hostLanes;

    CudaLaunches(Launcher launcher, int hostLanes) {
        this.launcher = launcher;
        this.hostLanes = hostLanes;
    }

    void matmul(WeightFormat format, CUdeviceptr weights, CUdeviceptr x, CUdeviceptr out, int rows, int cols, int batch) {
        launcher.launch(MATMUL.get(format), ceilDiv(rows, CudaKernel.MATMUL_ROWS_PER_BLOCK), batchTiles(batch),
                weights, x, out, rows, cols, batch);
    }

    /** x (blocks*32 floats) to 8-bit blocks: q (blocks*32 bytes) and their scales d (blocks floats). */
    void quantizeQ8(CUdeviceptr x, CUdeviceptr q, CUdeviceptr d, int blocks) {
        launcher.launch(CudaKernel.QUANTIZE_Q8, ceilDiv(blocks, CudaKernel.QUANTIZE_Q8.threads), 1, x, q, d, blocks);
    }

    void matmulInt(WeightFormat format, CUdeviceptr weights, CUdeviceptr q, CUdeviceptr d, CUdeviceptr out,
                   int rows, int cols, int batch) {
        launcher.launch(MATMUL_INT.get(format), ceilDiv(rows, CudaKernel.MATMUL_I8_ROWS_PER_BLOCK), batchTiles(batch),
                weights, q, d, out, rows, cols, batch);
    }

    void embed(WeightFormat format, CUdeviceptr table, CUdeviceptr tokens, CUdeviceptr out, int cols, int count) {
        CudaKernel kernel = EMBED.get(format);
        launcher.launch(kernel, count, gridY(ceilDiv(cols, kernel.threads), "embed cols / 256"), table, tokens, out, cols);
    }

    void rmsnorm(CUdeviceptr out, CUdeviceptr x, CUdeviceptr weight, int n, int batch, float eps) {
        launcher.launch(CudaKernel.RMSNORM, batch, 1, out, x, weight, n, eps, hostLanes);
    }

    void rope(CUdeviceptr vec, CUdeviceptr invFreq, int nHeads, int headDim, int pos0, int batch) {
        int pairs = nHeads * (headDim / 2);
        launcher.launch(CudaKernel.ROPE, batch, gridY(ceilDiv(pairs, CudaKernel.ROPE.threads), "rope pairs / 128"),
                vec, invFreq, nHeads, headDim, pos0);
    }

    void attention(CUdeviceptr out, CUdeviceptr q, CUdeviceptr keys, CUdeviceptr values, CUdeviceptr scores,
                   int startPos, int batch, int nHeads, int nKvHeads, int headDim) {
        launcher.launch(CudaKernel.ATTENTION, nHeads, gridY(batch, "attention batch"), out, q, keys, values, scores,
                startPos, nHeads, nKvHeads, headDim, startPos + batch, hostLanes);
    }

    void attentionPaged(CUdeviceptr out, CUdeviceptr q, CUdeviceptr keys, CUdeviceptr values, CUdeviceptr scores,
                        CUdeviceptr positions, CUdeviceptr tables, int tableStride, int blockSize, int batch,
                        int nHeads, int nKvHeads, int headDim, int maxLen) {
        launcher.launch(CudaKernel.ATTENTION_PAGED, nHeads, gridY(batch, "paged attention rows"), out, q, keys, values, scores,
                positions, tables, tableStride, blockSize, nHeads, nKvHeads, headDim, maxLen, hostLanes);
    }

    void siluMul(CUdeviceptr gate, CUdeviceptr up, long n) { elementwise(CudaKernel.SILU_MUL, gate, up, n); }

    void add(CUdeviceptr acc, CUdeviceptr x, long n) { elementwise(CudaKernel.ADD, acc, x, n); }

    private void elementwise(CudaKernel kernel, CUdeviceptr a, CUdeviceptr b, long n) {
        long blocks = (n + kernel.threads - 1) / kernel.threads;
        if (blocks > Integer.MAX_VALUE) throw new IllegalArgumentException(kernel.entry + " of " + n + " elements is too long");
        launcher.launch(kernel, (int) blocks, 1, a, b, n);
    }

    private static int batchTiles(int batch) {
        return gridY(ceilDiv(batch, CudaKernel.BATCH_TILE), "matmul batch / " + CudaKernel.BATCH_TILE);
    }

    private static int gridY(int blocks, String what) {
        if (blocks > CudaKernel.MAX_GRID_Y) {
            throw new IllegalArgumentException(what + " is " + blocks + " blocks, more than CUDA's grid y limit "
                    + CudaKernel.MAX_GRID_Y);
        }
        return blocks;
    }

    static int ceilDiv(int n, int d) { return (int) (((long) n + d - 1) / d); }

}
