package dev.tandem.device.gpu.cuda;

import java.util.List;

/**
 * Every kernel of tandem.cu that Java launches: its entry name, its parameters' kinds in order (the
 * one declaration CudaKernels checks each launch against, and CudaLaunchTableTest checks against the
 * PTX's .entry signatures), and its threads per block. The grid of each is computed in CudaKernels.
 */
enum CudaKernel {
    MATMUL_F32("matmul_f32", 256, Arg.PTR, Arg.PTR, Arg.PTR, Arg.I32, Arg.I32, Arg.I32),
    MATMUL_F16("matmul_f16", 256, Arg.PTR, Arg.PTR, Arg.PTR, Arg.I32, Arg.I32, Arg.I32),
    MATMUL_BF16("matmul_bf16", 256, Arg.PTR, Arg.PTR, Arg.PTR, Arg.I32, Arg.I32, Arg.I32),
    MATMUL_Q8_0("matmul_q8_0", 256, Arg.PTR, Arg.PTR, Arg.PTR, Arg.I32, Arg.I32, Arg.I32),
    MATMUL_Q4_0("matmul_q4_0", 256, Arg.PTR, Arg.PTR, Arg.PTR, Arg.I32, Arg.I32, Arg.I32),
    MATMUL_Q8_0_I8("matmul_q8_0_i8", 256, Arg.PTR, Arg.PTR, Arg.PTR, Arg.PTR, Arg.I32, Arg.I32, Arg.I32),
    MATMUL_Q4_0_I8("matmul_q4_0_i8", 256, Arg.PTR, Arg.PTR, Arg.PTR, Arg.PTR, Arg.I32, Arg.I32, Arg.I32),
    QUANTIZE_Q8("quantize_q8", 256, Arg.PTR, Arg.PTR, Arg.PTR, Arg.I32),
    EMBED_F32("embed_f32", 256, Arg.PTR, Arg.PTR, Arg.PTR, Arg.I32),
    EMBED_F16("embed_f16", 256, Arg.PTR, Arg.PTR, Arg.PTR, Arg.I32),
    EMBED_BF16("embed_bf16", 256, Arg.PTR, Arg.PTR, Arg.PTR, Arg.I32),
    EMBED_Q8_0("embed_q8_0", 256, Arg.PTR, Arg.PTR, Arg.PTR, Arg.I32),
    EMBED_Q4_0("embed_q4_0", 256, Arg.PTR, Arg.PTR, Arg.PTR, Arg.I32),
    RMSNORM("rmsnorm", 256, Arg.PTR, Arg.PTR, Arg.PTR, Arg.I32, Arg.F32, Arg.I32),
    ROPE("rope", 128, Arg.PTR, Arg.PTR, Arg.I32, Arg.I32, Arg.I32),
    ATTENTION("attention", 128, Arg.PTR, Arg.PTR, Arg.PTR, Arg.PTR, Arg.PTR,
            Arg.I32, Arg.I32, Arg.I32, Arg.I32, Arg.I32, Arg.I32),
    ATTENTION_PAGED("attention_paged", 128, Arg.PTR, Arg.PTR, Arg.PTR, Arg.PTR, Arg.PTR, Arg.PTR, Arg.PTR,
            Arg.I32, Arg.I32, Arg.I32, Arg.I32, Arg.I32, Arg.I32, Arg.I32),
    SILU_MUL("silu_mul", 256, Arg.PTR, Arg.PTR, Arg.U64),
    ADD("add", 256, Arg.PTR, Arg.PTR, Arg.U64);

    /** A kernel parameter's kind: the Java value a launch passes and the PTX type it becomes. */
    enum Arg {
        /** A device pointer (CUdeviceptr), PTX .u64. */
        PTR(".u64"),
        /** A Java int (C int), PTX .u32. */
        I32(".u32"),
        /** A Java float, PTX .f32. */
        F32(".f32"),
        /** A Java long (C unsigned long long), PTX .u64. */
        U64(".u64");

        final String ptxType;

        Arg(String ptxType) { this.ptxType = ptxType; }

        boolean accepts(Object value) {
            return switch (this) {
                case PTR -> value instanceof jcuda.driver.CUdeviceptr;
                case I32 -> value instanceof Integer;
                case F32 -> value instanceof Float;
                case U64 -> value instanceof Long;
            };
        }
    }

    /** Threads per block of the small kernels' matmul: one warp per weight row (MATMUL_WARPS in tandem.cu). */
    static final int MATMUL_ROWS_PER_BLOCK = 8;
    /** Weight rows per block of the integer-dot matmuls: 8 threads each. */
    static final int MATMUL_I8_ROWS_PER_BLOCK = 32;
    /** Activation rows each matmul block multiplies per weight row read (TB in tandem.cu). */
    static final int BATCH_TILE = 4;
    /** Largest head the attention kernels keep in shared memory (MAX_HEAD_DIM in tandem.cu). */
    static final int MAX_HEAD_DIM = 256;
    /** Largest grid y (and z) the driver accepts. */
    static final int MAX_GRID_Y = 65535;

    final String entry;
    final int threads;
    final List<Arg> args;

    CudaKernel(String entry, int threads, Arg... args) {
        this.entry = entry;
        this.threads = threads;
        this.args = List.of(args);
    }
}
